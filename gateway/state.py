"""The state shared by the parts of the gateway process: database and outbox.

Both are plain components: the database migrates when the process starts and
closes its connections last; the outbox delivers in the background while the
process runs.
"""

from __future__ import annotations

import grpc
from aiohttp import web

from gateway.config import Settings
from gateway.db import Database
from gateway.logs import get_logger
from gateway.outbox import Outbox

log = get_logger(__name__)


class DatabaseComponent:
    name = "database"

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        return []

    def add_to_http(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        await self.db.migrate()
        log.info("state database ready", backend=self.db.backend)

    async def stop(self) -> None:
        await self.db.dispose()


class OutboxComponent:
    name = "outbox"

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        return []

    def add_to_http(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        await self.outbox.start()
        counts = await self.outbox.counts()
        if counts:
            log.info("outbox resumed", **counts)

    async def stop(self) -> None:
        await self.outbox.stop()


def open_state(settings: Settings) -> tuple[Database, Outbox]:
    db = Database(settings.effective_database_url)
    outbox = Outbox(
        db,
        give_up_after=settings.outbox_give_up_after,
        max_delay=settings.outbox_max_retry_delay,
    )
    return db, outbox
