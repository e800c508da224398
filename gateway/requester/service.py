"""The requester service: sends provider requests, correlates callbacks, reconciles.

Every request is recorded (with its bytes) before it is sent, so a callback
that overtakes the synchronous reply is still correlated, and a request cut
short by a restart is re-sent with the same correlationId.  Waiting for a
confirmation reads the request row (a restart does not lose the wait); the
deadline counts from when the request was first sent.  Callbacks are
applied in one transaction each, then watchers and waiters are told.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.message import Message as ProtoMessage

from adapters.nsi_soap.faults import NsiError, payload_error, unauthorized
from adapters.nsi_soap.requester_client import (
    PreparedRequest,
    ProviderFault,
    RequesterClient,
    RequesterClientError,
)
from adapters.nsi_soap.security import CanonicalDn, canonical_dn
from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.requester import apply, store
from gateway.requester.peers import PeerRegistry
from gateway.requester.states import REQUEST_OF_RESULT, simple_state
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2

log = get_logger(__name__)

NOTIFICATIONS = frozenset(
    {"errorEvent", "reserveTimeout", "dataPlaneStateChange", "messageDeliveryTimeout"}
)
QUERY_CONFIRMATIONS = frozenset(
    {
        "querySummaryConfirmed",
        "queryRecursiveConfirmed",
        "queryNotificationConfirmed",
        "queryResultConfirmed",
    }
)
POLL_SECONDS = 1.0


class StepFailed(Exception):
    """A request that ended without its confirmation (refused, failed, timed out, lost)."""

    def __init__(self, kind: str, message: str, *, error_id: str = "", provider: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # refused | failed | timeout | unreachable | bad-reply
        self.error_id = error_id
        self.provider = provider


@dataclass(frozen=True)
class Change:
    """What watchers of a connection are told after a commit."""

    connection: store.ConnectionRow
    state_changed: bool
    notice: apply.Notice | None = None


class RequesterService:
    """Implements the requester endpoint's CallbackHandler."""

    def __init__(
        self,
        db: Database,
        peers: PeerRegistry,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self.peers = peers
        self._clock = clock
        self._reply_to = ""
        self._waiters: dict[str, asyncio.Event] = {}
        self._watchers: dict[str, set[asyncio.Queue[Change]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def set_reply_to(self, url: str) -> None:
        self._reply_to = url

    def client_for(self, nsa_id: str) -> tuple[RequesterClient, Any]:
        peer = self.peers.get(nsa_id)
        return RequesterClient(self.peers.own_nsa, self._reply_to, peer.http()), peer.endpoint

    # --- connections -----------------------------------------------------------------

    async def new_connection(self, **values: Any) -> store.ConnectionRow:
        now = self._clock()
        row = store.ConnectionRow(
            id=uuid.uuid4().hex,
            state="reserving",
            reservation_state="ReserveStart",
            provision_state="Released",
            lifecycle_state="Created",
            data_plane_active=False,
            data_plane_version=0,
            data_plane_consistent=True,
            version=0,
            committed=False,
            was_provisioned=False,
            failure="",
            last_notification_id=0,
            last_result_id=0,
            create_time=now,
            update_time=now,
            **values,
        )
        async with self._db.transaction() as session:
            session.add(row)
        return row

    async def get(self, ident: str) -> store.ConnectionRow | None:
        async with self._db.sessions() as session:
            return await store.connection(session, ident)

    async def of_operation(self, op_id: str) -> store.ConnectionRow | None:
        async with self._db.sessions() as session:
            return await store.connection_of_operation(session, op_id)

    async def set_pending(self, ident: str, pending: dict[str, Any]) -> None:
        async with self._db.transaction() as session:
            row = await store.connection(session, ident)
            assert row is not None
            row.pending = pending

    # --- requests ----------------------------------------------------------------------

    async def step(
        self,
        conn_id: str,
        op_id: str,
        operation: str,
        message: ProtoMessage,
        report: Callable[[str], Any],
    ) -> store.RequestRow:
        """Send one request of operation ``op_id`` (once) and wait for its confirmation."""
        async with self._db.transaction() as session:
            conn = await store.connection(session, conn_id)
            assert conn is not None
            request = await store.latest_request(session, conn_id, operation, op_id)
            if request is None:
                client, endpoint = self.client_for(conn.provider_nsa)
                prepared = client.prepare(endpoint, operation, message)
                now = self._clock()
                request = store.RequestRow(
                    correlation_id=prepared.correlation_id,
                    connection_ref=conn_id,
                    operation_id=op_id,
                    provider_nsa=conn.provider_nsa,
                    operation=operation,
                    payload=prepared.payload,
                    state=store.SENDING,
                    outcome="",
                    error_id="",
                    error_text="",
                    sent_time=now,
                    update_time=now,
                )
                session.add(request)
                apply.mark_sending(conn, operation)
                self._touch(conn)
        if request.state == store.SENDING:
            await report(f"{operation} sent to {request.provider_nsa} ({request.correlation_id})")
            await self._send(request)
        return await self._wait(request.correlation_id, report)

    async def _send(self, request: store.RequestRow) -> None:
        client, endpoint = self.client_for(request.provider_nsa)
        prepared = PreparedRequest(request.operation, request.correlation_id, request.payload)
        try:
            reply = await client.send(endpoint, prepared)
        except RequesterClientError as exc:
            kind = "refused" if isinstance(exc, ProviderFault) else "unreachable"
            error_id = exc.error_id if isinstance(exc, ProviderFault) else ""
            await self._fail_request(request.correlation_id, kind, str(exc), error_id)
            raise StepFailed(
                kind, str(exc), error_id=error_id, provider=request.provider_nsa
            ) from None
        async with self._db.transaction() as session:
            row = await store.request(session, request.correlation_id)
            assert row is not None
            if row.state == store.SENDING:
                row.state = store.SENT
                row.update_time = self._clock()
            if reply.connection_id and row.connection_ref:
                conn = await store.connection(session, row.connection_ref)
                if conn is not None and not conn.connection_id:
                    conn.connection_id = reply.connection_id
                    self._touch(conn)

    async def _fail_request(
        self, correlation_id: str, kind: str, text: str, error_id: str = ""
    ) -> None:
        change = None
        async with self._db.transaction() as session:
            row = await store.request(session, correlation_id)
            assert row is not None
            row.state, row.outcome, row.error_id, row.error_text = (
                store.FAILED,
                kind,
                error_id,
                text,
            )
            row.update_time = self._clock()
            conn = await store.connection(session, row.connection_ref or "")
            if conn is not None:
                before = conn.state
                apply.undo_sending(conn, row.operation)
                if row.operation == "reserve" and not conn.committed and kind != "timeout":
                    conn.failure = f"reservation failed: {text}"
                conn.state = simple_state(conn).value
                self._touch(conn)
                change = Change(conn, conn.state != before)
        if change is not None:
            self._publish(change)

    async def _wait(self, correlation_id: str, report: Callable[[str], Any]) -> store.RequestRow:
        while True:
            event = self._waiters.setdefault(correlation_id, asyncio.Event())
            async with self._db.sessions() as session:
                row = await store.request(session, correlation_id)
            assert row is not None
            if row.state == store.CONFIRMED:
                await report(f"{row.outcome} from {row.provider_nsa}")
                return row
            if row.state == store.FAILED:
                kind = "timeout" if row.outcome == "timeout" else "failed"
                if row.outcome in ("refused", "unreachable"):
                    kind = row.outcome
                raise StepFailed(
                    kind, row.error_text, error_id=row.error_id, provider=row.provider_nsa
                )
            limit = timedelta(seconds=self.peers.confirm_timeout(row.provider_nsa))
            left = (row.sent_time + limit - self._clock()).total_seconds()
            if left <= 0:
                confirmation = f"no confirmation of {row.operation} from {row.provider_nsa}"
                text = f"{confirmation} within {limit.total_seconds():g}s"
                await self._fail_request(correlation_id, "timeout", text)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, POLL_SECONDS))

    # --- callbacks ---------------------------------------------------------------------

    async def handle_callback(
        self, operation: str, message: Any, peer_dn: CanonicalDn | None
    ) -> None:
        header = message.header
        try:
            peer = self.peers.get(header.provider_nsa)
        except LookupError:
            raise unauthorized(
                f"providerNSA '{header.provider_nsa}' is not a peer of ours"
            ) from None
        if peer.config.callback_dn and peer_dn != canonical_dn(peer.config.callback_dn):
            raise unauthorized(f"this certificate may not speak for {header.provider_nsa}")
        if header.requester_nsa != self.peers.own_nsa:
            raise payload_error(
                "nsiHeader/requesterNSA", f"'{header.requester_nsa}' is not this requester"
            )
        if operation in NOTIFICATIONS:
            change = await self._notification(operation, message)
        else:
            change = await self._result(operation, message, header.correlation_id)
        log.info(
            "NSI callback applied",
            operation=operation,
            provider=header.provider_nsa,
            correlation_id=header.correlation_id,
        )
        if change is not None:
            self._publish(change)
        self._wake(header.correlation_id)

    async def _result(self, operation: str, message: Any, correlation_id: str) -> Change | None:
        async with self._db.transaction() as session:
            request = await store.request(session, correlation_id)
            if request is None:
                raise payload_error(
                    "nsiHeader/correlationId",
                    f"no request of ours has correlationId {correlation_id}",
                )
            if request.provider_nsa != message.header.provider_nsa:
                raise unauthorized("the correlationId belongs to a request to another provider")
            if operation in QUERY_CONFIRMATIONS:
                request.state, request.outcome = store.CONFIRMED, operation
                return None
            expected = request.operation
            if operation != "error" and REQUEST_OF_RESULT.get(operation) != expected:
                raise payload_error(operation, f"{operation} does not answer a {expected} request")
            return await self._apply_result(session, request, operation, message)

    async def _apply_result(
        self, session: Any, request: store.RequestRow, operation: str, message: Any
    ) -> Change | None:
        if request.outcome == operation:
            return None  # a duplicate: already applied
        conn = await store.connection(session, request.connection_ref or "")
        if conn is None:
            request.state, request.outcome = store.CONFIRMED, operation
            return None
        connection_id = getattr(message, "connection_id", "")
        if connection_id and conn.connection_id and connection_id != conn.connection_id:
            raise payload_error(
                "connectionId", f"{connection_id} is not the connection of this correlationId"
            )
        late = request.state == store.FAILED and request.outcome == "timeout"
        before = conn.state
        apply.apply_result(conn, request, operation, message)
        if late:
            request.state = store.FAILED
            request.error_text += f"; {operation} arrived later"
        self._touch(conn)
        return Change(conn, conn.state != before)

    async def _notification(self, operation: str, message: Any) -> Change | None:
        header = message.header
        async with self._db.transaction() as session:
            conn = await store.connection_by_provider_id(
                session, header.provider_nsa, message.notification.connection_id
            )
            if conn is None:
                raise NsiError(
                    "00203",
                    f"no connection {message.notification.connection_id} of ours at "
                    f"{header.provider_nsa}",
                    connection_id=message.notification.connection_id,
                )
            before = conn.state
            notice = apply.apply_notification(conn, operation, message)
            if notice is None:
                return None
            self._touch(conn)
        if operation == "messageDeliveryTimeout":
            self._spawn(self.reconcile(conn.id))
        return Change(conn, conn.state != before, notice)

    # --- reconciliation ----------------------------------------------------------------

    async def reconcile(self, conn_id: str) -> None:
        """Ask the provider what we may have missed, and take its word for the states."""
        conn = await self.get(conn_id)
        if conn is None or not conn.connection_id:
            return
        client, endpoint = self.client_for(conn.provider_nsa)
        cid = conn.connection_id
        results = await client.call(
            endpoint,
            "queryResultSync",
            provider_pb2.QueryResultRequest(
                connection_id=cid, start_result_id=conn.last_result_id + 1
            ),
        )
        notifications = await client.call(
            endpoint,
            "queryNotificationSync",
            provider_pb2.QueryNotificationRequest(
                connection_id=cid, start_notification_id=conn.last_notification_id + 1
            ),
        )
        summary = await client.call(
            endpoint, "querySummarySync", provider_pb2.QueryRequest(connection_id=[cid])
        )
        changes: list[Change] = []
        woken: list[str] = []
        async with self._db.transaction() as session:
            row = await store.connection(session, conn_id)
            assert row is not None
            before = row.state
            for result in results.body.result:
                row.last_result_id = max(row.last_result_id, result.result_id)
                field = result.WhichOneof("type")
                if field is None:
                    continue
                request = await store.request(session, result.correlation_id)
                if request is None or request.connection_ref != conn_id:
                    continue
                await self._apply_result(
                    session, request, apply.RESULT_FIELDS[field], getattr(result, field)
                )
                woken.append(result.correlation_id)
            for field, operation in apply.NOTIFICATION_FIELDS:
                for item in getattr(notifications.body, field):
                    notice = apply.apply_notification(row, operation, item)
                    if notice is not None:
                        changes.append(Change(row, False, notice))
            for reservation in summary.body.reservation:
                if reservation.connection_id == cid:
                    apply.apply_summary(row, reservation)
            self._touch(row)
            changes.append(Change(row, row.state != before))
        for change in changes:
            self._publish(change)
        for correlation_id in woken:
            self._wake(correlation_id)
        log.info("connection reconciled", connection=conn_id, provider=conn.provider_nsa)

    async def open_connections(self) -> list[str]:
        async with self._db.sessions() as session:
            return [row.id for row in await store.open_connections(session)]

    async def reconcile_all(self, connections: list[str]) -> None:
        for conn_id in connections:
            try:
                await self.reconcile(conn_id)
            except Exception as exc:  # one unreachable peer must not stop the others
                log.warning(
                    "connection not reconciled",
                    connection=conn_id,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )

    # --- watchers ----------------------------------------------------------------------

    def subscribe(self, conn_id: str) -> asyncio.Queue[Change]:
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self._watchers.setdefault(conn_id, set()).add(queue)
        return queue

    def unsubscribe(self, conn_id: str, queue: asyncio.Queue[Change]) -> None:
        watchers = self._watchers.get(conn_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[conn_id]

    def _publish(self, change: Change) -> None:
        for queue in self._watchers.get(change.connection.id, ()):
            queue.put_nowait(change)

    def _wake(self, correlation_id: str) -> None:
        event = self._waiters.pop(correlation_id, None)
        if event is not None:
            event.set()

    def _touch(self, conn: store.ConnectionRow) -> None:
        conn.update_time = self._clock()

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(self._quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _quietly(self, work: Any) -> None:
        try:
            await work
        except Exception as exc:
            log.warning("background reconcile failed", error=type(exc).__name__)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.peers.close()
