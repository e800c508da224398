"""The gateway process: one event loop, a gRPC server, an HTTP server, components.

Start-up binds both servers, then starts the components.  Shutdown (SIGINT or
SIGTERM) reverses that: both edges stop taking calls and let in-flight ones
finish within ``shutdown_grace``, then the components stop and persist what
they hold, so nothing is left half-written.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from gateway.access.tls import server_credentials
from gateway.component import Component, grpc_interceptors_of
from gateway.config import Settings
from gateway.gc_pauses import freeze_startup_objects
from gateway.grpc_server import GrpcServer
from gateway.http_server import READINESS, HttpServer, create_app
from gateway.logs import get_logger
from gateway.nsi_proxy import http_ssl_context

log = get_logger(__name__)


class Gateway:
    def __init__(self, settings: Settings, components: Sequence[Component] = ()) -> None:
        self.settings = settings
        self.components = list(components)
        self.app = create_app()
        for component in self.components:
            component.add_to_http(self.app)
        self.http = HttpServer(
            self.app,
            settings.http_host,
            settings.http_port,
            shutdown_grace=settings.shutdown_grace,
            ssl_context=http_ssl_context(settings),  # HTTPS (mutual TLS) for the SOAP endpoint
        )
        self.grpc: GrpcServer | None = None
        self._stopping = asyncio.Event()
        self._started: list[Component] = []

    async def start(self) -> None:
        """Bind both servers, then start the components (grpc.aio needs the running loop)."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.grpc = GrpcServer(
            self.settings.grpc_host,
            self.settings.grpc_port,
            credentials=server_credentials(self.settings),
            interceptors=grpc_interceptors_of(self.components),
        )
        for component in self.components:
            self.grpc.add_services(component.add_to_grpc(self.grpc.server))
        try:
            grpc_port = await self.grpc.start()
            http_port = await self.http.start()
            for component in self.components:
                bound = getattr(component, "on_grpc_bound", None)
                if bound is not None:  # components calling services of this process
                    bound(grpc_port)
                http_bound = getattr(component, "on_http_bound", None)
                if http_bound is not None:  # components giving out URLs of this process
                    http_bound(http_port)
            for component in self.components:
                await component.start()
                self._started.append(component)
            # Health says SERVING (gRPC) and ok (/healthz) only now.
            await self.grpc.mark_serving()
            self.app[READINESS].ready = True
        except BaseException:
            await self.stop()
            raise
        log.info(
            "nsgw serving",
            grpc=f"{self.settings.grpc_host}:{grpc_port}",
            http=f"{self.settings.http_host}:{http_port}",
            components=[c.name for c in self.components],
        )

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace
        edges = [self.http.stop()]
        if self.grpc is not None:
            edges.append(self.grpc.stop(grace))
        await asyncio.gather(*edges)
        for component in reversed(self._started):
            try:
                await component.stop()
            except Exception:
                log.exception("component did not stop cleanly", component=component.name)
        self._started.clear()
        log.info("nsgw stopped")

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            frozen = freeze_startup_objects()  # what start-up made lives as long as the process
            log.info("start-up objects exempted from garbage collection", objects=frozen)
            await self._stopping.wait()
            log.info("shutting down", grace_seconds=self.settings.shutdown_grace)
            await self.stop()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
