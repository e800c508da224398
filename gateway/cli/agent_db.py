"""Opening the state database from the command line (for ``nsgw stp`` and ``nsgw reservations``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from gateway.cli.common import fail, settings_or_exit
from gateway.db import Database

T = TypeVar("T")


def run_with_database(config: Path | None, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the migrated state database named by the settings."""
    settings = settings_or_exit(config)

    async def main() -> T:
        db = Database(settings.effective_database_url)
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except OSError as exc:
        fail(f"cannot open the state database: {exc}", code=1)
