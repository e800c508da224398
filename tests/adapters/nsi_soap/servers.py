"""Small real servers for the tests: an aiohttp app on 127.0.0.1, a SOAP sink."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@asynccontextmanager
async def serve_app(
    app: web.Application, ssl_context: ssl.SSLContext | None = None, port: int = 0
) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{bound}"
    finally:
        await runner.cleanup()


@dataclass
class SoapSink:
    """A requester's SOAP endpoint that records what it receives."""

    received: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.status != 200:
            return web.Response(status=self.status, text="unavailable")
        self.received.append((request.headers.get("SOAPAction", ""), body))
        self.arrived.set()
        return web.Response(body=ACK, content_type="text/xml", charset="utf-8")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/requester", self.handle)
        return app

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async def reached() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(reached(), timeout)


ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?><S:Envelope '
    b'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    b'<c:acknowledgment xmlns:c="http://schemas.ogf.org/nsi/2013/12/connection/types"/>'
    b"</S:Body></S:Envelope>"
)
