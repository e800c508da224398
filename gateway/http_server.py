"""The HTTP server (aiohttp) that hosts SOAP endpoints and published documents.

aiohttp runs in the same event loop as the gRPC server and exposes the TLS
peer certificate of each request (see :func:`peer_certificate`), which the
SOAP endpoint needs to authorise NSI peers.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway import __version__
from gateway.logs import bind_request_id, clear_request_id

REQUEST_ID_HEADER = "X-Request-Id"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    clear_request_id()
    rid = bind_request_id(request.headers.get(REQUEST_ID_HEADER))
    response = await handler(request)
    response.headers.setdefault(REQUEST_ID_HEADER, rid)
    return response


def peer_certificate(request: web.Request) -> dict[str, Any] | None:
    """The verified TLS client certificate of the request (``ssl.getpeercert()`` form)."""
    transport = request.transport
    if transport is None:
        return None
    peercert = transport.get_extra_info("peercert")
    return peercert or None


class Readiness:
    """Whether every component of the process has started (set once by the process)."""

    def __init__(self) -> None:
        self.ready = False


READINESS = web.AppKey("readiness", Readiness)


async def _healthz(request: web.Request) -> web.Response:
    if not request.app[READINESS].ready:
        return web.json_response({"status": "starting", "version": __version__}, status=503)
    return web.json_response({"status": "ok", "version": __version__})


def create_app() -> web.Application:
    app = web.Application(middlewares=[request_id_middleware], client_max_size=4 * 1024 * 1024)
    app[READINESS] = Readiness()
    app.router.add_get("/healthz", _healthz)
    return app


class HttpServer:
    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        shutdown_grace: float = 10.0,
    ) -> None:
        self.app = app
        self._host, self._port, self._ssl = host, port, ssl_context
        self._grace = shutdown_grace
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> int:
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=self._grace
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, ssl_context=self._ssl)
        await site.start()
        server = site._server  # the asyncio.Server, for the bound port
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish within the shutdown grace."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
