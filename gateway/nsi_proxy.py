"""The NSI SOAP proxy as a component of the gateway process.

Wires the leaf adapter ``adapters.nsi_soap`` to the process: the provider
endpoint joins the HTTP server, the ConnectionRequester service joins the gRPC
server, and callbacks go through the shared durable outbox on the channel
``nsi-soap-callback`` (ordered per connection, retried with backoff, given up
after ``soap_callback_give_up_after`` seconds: recorded, logged and counted
on ``/metrics/nsi-soap``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import grpc
from aiohttp import web
from sqlalchemy import JSON, String, Text, and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from adapters.nsi_soap.delivery import RefusedError, RetryLaterError, SoapSender, create_sender
from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.provider_endpoint import EndpointConfig, ProviderEndpoint, add_route
from adapters.nsi_soap.provider_target import ConnectionProvider, GrpcProvider
from adapters.nsi_soap.requester_service import (
    CALLBACK_OPERATIONS,
    RememberedRequest,
    RequesterService,
    RequestMemory,
    add_to_server,
)
from adapters.nsi_soap.security import PeerPolicy, client_ssl_context, server_ssl_context
from adapters.nsi_soap.xmlparse import XmlLimits
from gateway.config import Settings
from gateway.db import Base, Database, UtcDateTime, table_of, utcnow
from gateway.logs import get_logger
from gateway.outbox import DeliveryError, DeliveryRefused, Envelope, Outbox, OutboxRow
from gateway.prepared import Prepared
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc

log = get_logger(__name__)

CALLBACK_CHANNEL = "nsi-soap-callback"
METRICS_PATH = "/metrics/nsi-soap"


def http_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS for the HTTP server when soap_tls_cert and soap_tls_key are set."""
    if settings.soap_tls_cert is None or settings.soap_tls_key is None:
        return None
    return server_ssl_context(
        settings.soap_tls_cert,
        settings.soap_tls_key,
        settings.soap_tls_ca,
        settings.soap_tls_key_password.get_secret_value(),
    )


class RequestRecordRow(Base):
    """replyTo and nsiHeader extensions of a request that carried extensions."""

    __tablename__ = "nsi_soap_request"

    correlation_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    reply_to: Mapped[str] = mapped_column(Text)
    extensions: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class DatabaseRequestRecords:
    """The adapter's RequestRecords in the state database (migration ``0201_nsi_soap``).

    Records older than ``retention`` seconds are pruned now and then.
    """

    PRUNE_EVERY = 1000  # saves

    def __init__(
        self, db: Database, retention: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = db
        self._retention = timedelta(seconds=retention)
        self._clock = clock
        self._saves = 0

    async def save(self, correlation_id: str, request: RememberedRequest) -> None:
        """Keep a request's replyTo and extensions: one unit on the database's writer thread."""
        now = self._clock()
        self._saves += 1
        prune = self._saves % self.PRUNE_EVERY == 0
        values = {
            "correlation_id": correlation_id,
            "reply_to": request.reply_to,
            "extensions": list(request.extras.extensions),
            "created_at": now,
        }

        def write(session: Session) -> None:
            connection = session.connection()
            # a re-sent correlation id replaces what was kept of it
            connection.execute(_DELETE_RECORD, {"correlation_id": correlation_id})
            connection.execute(_INSERT_RECORD, values)
            if prune:
                connection.execute(_PRUNE_RECORDS, {"before": now - self._retention})

        try:
            await self._db.threaded.write(write)
        except Exception:
            log.exception("NSI request header not recorded", correlation_id=correlation_id)
            raise

    async def load(self, correlation_id: str) -> RememberedRequest | None:
        """What was kept of a request: one row by its key, read on the event loop's thread
        (every notification asks, and most find nothing)."""

        def read(session: Session) -> tuple[str, list[str]] | None:
            row = _LOAD_RECORD.first(session.connection(), {"correlation_id": correlation_id})
            return None if row is None else (row.reply_to, list(row.extensions))

        found = await self._db.threaded.read(read, inline=True)
        if found is None:
            return None
        reply_to, extensions = found
        return RememberedRequest(reply_to, HeaderExtras(extensions))


_RECORDS = table_of(RequestRecordRow)
# Statements built once (the request path runs them often).
_DELETE_RECORD = delete(_RECORDS).where(_RECORDS.c.correlation_id == bindparam("correlation_id"))
_INSERT_RECORD = insert(_RECORDS)
_PRUNE_RECORDS = delete(_RECORDS).where(
    _RECORDS.c.created_at < bindparam("before", type_=UtcDateTime())
)
_LOAD_RECORD = Prepared(
    select(_RECORDS.c.reply_to, _RECORDS.c.extensions).where(
        _RECORDS.c.correlation_id == bindparam("correlation_id")
    )
)


class OutboxCallbackQueue:
    """The adapter's CallbackQueue, written to the gateway's outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def put(
        self, ordering_key: str, destination: str, payload: bytes, attributes: dict[str, Any]
    ) -> None:
        await self._outbox.enqueue(
            CALLBACK_CHANNEL,
            ordering_key,
            destination=destination,
            payload=payload,
            attributes=attributes,
        )


class NsiSoapProxy:
    """Component: provider SOAP endpoint + ConnectionRequester gRPC service."""

    name = "nsi-soap-proxy"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        outbox: Outbox,
        sender: SoapSender | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._outbox = outbox
        self._memory = RequestMemory(
            records=DatabaseRequestRecords(db, settings.soap_request_retention)
        )
        self._target = settings.soap_provider_target
        self._channel: grpc.aio.Channel | None = None
        self._stub: provider_grpc.ConnectionProviderAsyncStub | None = None
        self._refusals: dict[str, int] = {}
        self.given_up = 0
        self._sender = sender or create_sender(
            timeout=settings.soap_callback_timeout, verify=self._callback_tls()
        )
        self.policy = PeerPolicy(
            allowed_dns=settings.soap_allowed_dns,
            dn_header=settings.soap_dn_header,
            nsa_bindings=settings.soap_dn_nsa_bindings,
            require_certificate=settings.soap_tls_ca is not None,
        )
        # Faults the proxy raises itself name this domain's NSA unless told otherwise.
        provider_nsa = settings.soap_provider_nsa or settings.nsa_id
        self.endpoint = ProviderEndpoint(
            GrpcProvider(self._provider_stub),
            EndpointConfig(
                provider_nsa=provider_nsa,
                deadline=settings.soap_grpc_deadline,
                limits=XmlLimits(settings.soap_max_body_bytes, settings.soap_max_depth),
            ),
            self.policy,
            self._memory,
            on_refusal=self._count_refusal,
        )
        self.requester = RequesterService(OutboxCallbackQueue(outbox), self._memory, provider_nsa)
        outbox.register(
            CALLBACK_CHANNEL,
            self._deliver,
            on_give_up=self._on_give_up,
            give_up_after=settings.soap_callback_give_up_after,
        )
        # Outbox messages that are SOAP callbacks: (channel, destination or any).
        self._callback_rows: list[tuple[str, str | None]] = [(CALLBACK_CHANNEL, None)]

    def _callback_tls(self) -> ssl.SSLContext | bool:
        settings = self._settings
        if settings.soap_callback_client_cert is None and settings.soap_callback_ca is None:
            return True
        return client_ssl_context(
            settings.soap_callback_ca,
            settings.soap_callback_client_cert,
            settings.soap_callback_client_key,
        )

    # --- wiring ------------------------------------------------------------------

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        return [add_to_server(self.requester, server)]

    def add_to_http(self, app: web.Application) -> None:
        add_route(app, self._settings.soap_provider_path, self.endpoint)
        app.router.add_get(METRICS_PATH, self._metrics)

    def on_grpc_bound(self, port: int) -> None:
        """Told the gRPC port of this process: the default ConnectionProvider target."""
        if not self._target:
            host = self._settings.grpc_host
            if host in ("0.0.0.0", ""):  # noqa: S104 (comparing, not binding)
                host = "127.0.0.1"
            elif host == "::":
                host = "::1"
            self._target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def call_in_process(self, provider: ConnectionProvider) -> None:
        """Send requests to a ConnectionProvider of this process instead of over gRPC."""
        self.endpoint.provider = provider
        self._target = "this process"

    def count_callbacks_of(self, channel: str, destination: str | None = None) -> None:
        """Count the outbox messages of ``channel`` (to ``destination``, or any) as SOAP
        callbacks too."""
        self._callback_rows.append((channel, destination))

    def _provider_stub(self) -> provider_grpc.ConnectionProviderAsyncStub:
        if self._stub is None:
            if not self._target:
                self.on_grpc_bound(self._settings.grpc_port)
            if self._settings.soap_provider_tls_ca is not None:
                credentials = grpc.ssl_channel_credentials(
                    self._settings.soap_provider_tls_ca.read_bytes()
                )
                self._channel = grpc.aio.secure_channel(self._target, credentials)
            else:
                self._channel = grpc.aio.insecure_channel(self._target)
            self._stub = provider_grpc.ConnectionProviderStub(self._channel)
        return self._stub

    async def start(self) -> None:
        log.info(
            "NSI SOAP proxy ready",
            path=self._settings.soap_provider_path,
            provider=self._target or "this process",
            peer_checks=self.policy.enforced,
        )

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel, self._stub = None, None
        await self._sender.aclose()

    # --- callbacks -----------------------------------------------------------------

    async def _deliver(self, message: Envelope) -> None:
        await self._send(message.destination, message.payload, message.attributes, message.attempts)

    async def deliver_now(self, method: str, request: Any, attempts: int) -> None:
        """POST a ConnectionRequester call as its SOAP message now, not through this outbox.

        For a provider in this process whose own outbox already holds the call
        durably and retries it: DeliveryError to retry, DeliveryRefused to give up.
        """
        operation = CALLBACK_OPERATIONS.get(method)
        if operation is None:
            raise DeliveryRefused(f"unknown ConnectionRequester method {method!r}")
        try:
            callback = await self.requester.prepare(operation, request)
        except NsiError as error:
            raise DeliveryRefused(f"{operation}: {error.text}") from None
        await self._send(callback.destination, callback.payload, callback.attributes, attempts)

    async def _send(
        self, destination: str, payload: bytes, attributes: dict[str, Any], attempts: int
    ) -> None:
        try:
            await self._sender.send(destination, payload, attributes)
        except RetryLaterError as exc:
            raise DeliveryError(str(exc)) from None
        except RefusedError as exc:
            raise DeliveryRefused(str(exc)) from None
        log.info(
            "NSI callback delivered",
            operation=attributes.get("operation"),
            connection_id=attributes.get("connection_id"),
            attempts=attempts,
        )

    async def _on_give_up(self, message: Envelope, reason: str) -> None:
        self.gave_up(message.attributes, message.destination, reason)

    def gave_up(self, attributes: dict[str, Any], destination: str, reason: str) -> None:
        """Count and log a SOAP callback that could not be delivered."""
        self.given_up += 1
        log.error(
            "NSI callback undeliverable",
            operation=attributes.get("operation") or attributes.get("method"),
            correlation_id=attributes.get("correlation_id"),
            connection_id=attributes.get("connection_id"),
            destination=destination,
            reason=reason,
        )

    def _count_refusal(self, error_id: str, detail: str) -> None:
        self._refusals[error_id] = self._refusals.get(error_id, 0) + 1
        log.info("NSI request refused", error_id=error_id, detail=detail)

    async def callback_counts(self) -> dict[str, int]:
        """Callbacks in the outbox by state (pending, expired, refused)."""
        callbacks = or_(
            *(
                OutboxRow.channel == channel
                if destination is None
                else and_(OutboxRow.channel == channel, OutboxRow.destination == destination)
                for channel, destination in self._callback_rows
            )
        )
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(OutboxRow.state, func.count()).where(callbacks).group_by(OutboxRow.state)
            )
            return {state: int(count) for state, count in rows.all()}

    async def _metrics(self, _request: web.Request) -> web.Response:
        counts = await self.callback_counts()
        lines = [
            "# TYPE nsgw_nsi_soap_callbacks gauge",
            *(
                f'nsgw_nsi_soap_callbacks{{state="{state}"}} {counts.get(state, 0)}'
                for state in ("pending", "expired", "refused")
            ),
            "# TYPE nsgw_nsi_soap_callbacks_undeliverable gauge",
            f"nsgw_nsi_soap_callbacks_undeliverable "
            f"{counts.get('expired', 0) + counts.get('refused', 0)}",
            "# TYPE nsgw_nsi_soap_refusals_total counter",
            *(
                f'nsgw_nsi_soap_refusals_total{{error_id="{error_id}"}} {count}'
                for error_id, count in sorted(self._refusals.items())
            ),
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
