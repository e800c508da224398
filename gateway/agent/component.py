"""The provider agent as a part of the gateway process."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import grpc
from aiohttp import web

from gateway.agent import store
from gateway.agent.backends import Backend, BackendError, make_backend
from gateway.agent.callbacks import LocalRequester, RequesterCallbacks, request_of
from gateway.agent.core import VIA
from gateway.agent.documents import Documents, DocumentSettings
from gateway.agent.domain.topology import Port
from gateway.agent.grpc_service import ConnectionProviderServicer
from gateway.agent.service import CHANNEL, AgentConfig, AgentService
from gateway.agent.topology_file import TopologyFileError, load_topology_file
from gateway.config import Settings
from gateway.db import Database
from gateway.logs import get_logger
from gateway.outbox import Envelope, Outbox
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc

log = get_logger(__name__)


def requester_target(settings: Settings, grpc_port: int | None = None) -> str:
    """Where callbacks go: the setting, or this process's own (bound) gRPC port."""
    if settings.agent_requester_target:
        return settings.agent_requester_target
    host = settings.grpc_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (only used to pick a loopback target)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{settings.grpc_port if grpc_port is None else grpc_port}"


def public_url(settings: Settings) -> str:
    if settings.agent_public_url:
        return settings.agent_public_url.rstrip("/")
    return f"http://{settings.http_host}:{settings.http_port}"


def agent_config(settings: Settings) -> AgentConfig:
    return AgentConfig(
        nsa_id=settings.nsa_id,
        network_id=settings.network_id,
        requester_target=requester_target(settings),
        hold_timeout=settings.reserve_hold_timeout,
        label_swapping=settings.label_swapping,
    )


async def load_ports(db: Database, ports: list[Port]) -> None:
    """Add or update the given STPs."""
    async with db.transaction() as session:
        for port in ports:
            await session.run_sync(store.save_port, port)


class AgentComponent:
    name = "nsi-agent"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        outbox: Outbox,
        *,
        backend: Backend | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.backend = backend or make_backend(settings, db)
        self.service = AgentService(db, outbox, self.backend, agent_config(settings))
        self.servicer = ConnectionProviderServicer(self.service)
        self.callbacks = RequesterCallbacks(deadline=settings.agent_callback_deadline)
        # Callbacks addressed to this destination go to a requester of this process.
        self._local: tuple[str, LocalRequester] | None = None
        outbox.register(
            CHANNEL,
            self._deliver,
            on_give_up=self._give_up,
            give_up_after=settings.callback_give_up_after,
        )
        base = public_url(settings)
        self.documents = Documents(
            db,
            DocumentSettings(
                nsa_id=settings.nsa_id,
                network_id=settings.network_id,
                name=settings.agent_nsa_name,
                public_url=base,
                provider_url=settings.agent_soap_provider_url
                or f"{base}{settings.soap_provider_path}",
                label_swapping=settings.label_swapping,
            ),
        )
        self._health_task: asyncio.Task[None] | None = None
        self._topology_task: asyncio.Task[None] | None = None

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        provider_grpc.add_ConnectionProviderServicer_to_server(self.servicer, server)
        return [provider_pb2.DESCRIPTOR.services_by_name["ConnectionProvider"].full_name]

    def add_to_http(self, app: web.Application) -> None:
        self.documents.add_routes(app)

    def on_grpc_bound(self, port: int) -> None:
        """With no requester target set and no requester of this process to call directly,
        callbacks go to this process's bound gRPC port."""
        if self._local is None:
            self.service.config = replace(
                self.service.config, requester_target=requester_target(self.settings, port)
            )

    def call_back_in_process(self, destination: str, requester: LocalRequester) -> None:
        """Hand new callbacks to ``requester`` of this process, addressed as ``destination``.

        Callbacks queued before (to a gRPC target) are still delivered over gRPC.
        """
        self._local = (destination, requester)
        self.service.config = replace(
            self.service.config, requester_target=destination, callbacks_in_process=True
        )

    def _in_process(self, message: Envelope) -> LocalRequester | None:
        """The requester of this process ``message`` is for, if any.

        Addressed by the ``via`` attribute (the destination is then the peer's
        replyTo), or by the destination itself (callbacks queued before).
        """
        if self._local is None:
            return None
        name, requester = self._local
        if message.attributes.get(VIA) == name or message.destination == name:
            return requester
        return None

    async def _deliver(self, message: Envelope) -> None:
        local = self._in_process(message)
        if local is not None:
            method = str(message.attributes.get("method", ""))
            await local.deliver_now(method, request_of(message), message.attempts)
        else:
            await self.callbacks(message)

    async def _give_up(self, message: Envelope, reason: str) -> None:
        local = self._in_process(message)
        if local is not None:
            local.gave_up(message.attributes, message.destination, reason)
        await self.service.on_give_up(message, reason)

    async def start(self) -> None:
        if self.settings.agent_topology_file is not None:
            try:
                ports = load_topology_file(self.settings.agent_topology_file)
            except TopologyFileError as exc:
                # nsgw serve reports an OSError as a one-line "cannot start" message.
                raise OSError(str(exc)) from None
            await load_ports(self.db, ports)
            log.info("topology file loaded", stps=len(ports))
        try:
            supplied = await self.backend.topology()
        except BackendError as exc:
            log.warning("no topology from the backend; using the stored STPs", error=str(exc))
            supplied = None
        if supplied is not None:
            await load_ports(self.db, supplied)
            log.info("topology from backend", backend=self.backend.name, stps=len(supplied))
        await self.service.start_timers()
        await self.service.start_steps()
        self._health_task = asyncio.create_task(self._health_loop(), name="agent-health")
        interval = getattr(self.backend, "topology_interval", None)
        if interval:
            self._topology_task = asyncio.create_task(
                self._topology_loop(interval), name="agent-topology"
            )

    async def _topology_loop(self, interval: float) -> None:
        """Refresh the STPs the backend supplies (e.g. from NSO) on a schedule."""
        while True:
            await asyncio.sleep(interval)
            try:
                supplied = await self.backend.topology()
                if supplied is not None:
                    await load_ports(self.db, supplied)
            except Exception as exc:
                log.warning("topology refresh failed", backend=self.backend.name, error=str(exc))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.agent_health_interval)
            try:
                await self.service.check_health()
            except Exception:
                log.exception("agent health check failed")

    async def stop(self) -> None:
        for task in (self._health_task, self._topology_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.service.stop_steps()
        await self.service.close()
        close = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()
        await self.callbacks.close()
