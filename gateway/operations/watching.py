"""Following one operation until it ends: the database first, then memory or re-reads.

A watcher's first look is in the database.  What follows comes from the
process's memory (:mod:`gateway.operations.live`) while the operation runs
in this process and the record holds everything after what the watcher has
seen; otherwise from the database again: at every change made in this
process, and at least every ``poll_seconds`` for changes made by another
process sharing the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.operations.live import LiveOperation, LiveOperations
from gateway.operations.model import Operation, Progress

WatchEvent = Operation | Progress
# Reads an operation from the database with its progress from an index (NOT_FOUND raises).
Read = Callable[[str, int], Awaitable[Operation]]


async def follow(
    live_ops: LiveOperations, read: Read, op_id: str, from_index: int, poll_seconds: float
) -> AsyncIterator[WatchEvent]:
    """The operation (first), its progress from ``from_index``, state changes, the end."""
    follower = _Follower(live_ops, read, op_id, poll_seconds)
    with live_ops.watching(op_id):
        next_index, first, seen = from_index, True, None
        op = await follower.first_look(next_index)
        while True:
            progress, op.progress = op.progress, []
            if first:
                yield op
            for item in progress:
                yield item
                next_index = item.index + 1
            if op.ended:
                yield op
                return
            if not first and (op.state, op.cancel_requested) != seen:
                yield op
            seen, first = (op.state, op.cancel_requested), False
            op = await follower.next_change(next_index)


class _Follower:
    def __init__(
        self, live_ops: LiveOperations, read: Read, op_id: str, poll_seconds: float
    ) -> None:
        self._live_ops, self._read, self._op_id = live_ops, read, op_id
        self._poll_seconds = poll_seconds
        self._live: LiveOperation | None = None
        self._changed = asyncio.Event()

    async def first_look(self, next_index: int) -> Operation:
        # The record is held from before the first look: the record of an
        # operation that ends meanwhile leaves the process's table, not our hands.
        self._live = self._live_ops.get(self._op_id)
        return await self._look(next_index)

    async def _look(self, next_index: int) -> Operation:
        """The operation in the database; any change made here after it sets ``_changed``."""
        self._changed = self._live_ops.changed(self._op_id)  # taken before reading
        return await self._read(self._op_id, next_index)

    def _record(self) -> LiveOperation | None:
        self._live = self._live_ops.get(self._op_id) or self._live
        return self._live

    async def next_change(self, next_index: int) -> Operation:
        """The operation with its progress from ``next_index``, once something changed."""
        live = self._record()
        if live is None or not live.has_news(next_index):
            if live is not None and live.base > next_index:
                return await self._look(next_index)  # memory lacks what came between
            if not self._changed.is_set():
                try:
                    async with asyncio.timeout(self._poll_seconds):
                        await self._changed.wait()
                except TimeoutError:
                    return await self._look(next_index)
            live = self._record()
        if live is not None and live.has_news(next_index):
            # Memory and the event change together (no await between): nothing is missed.
            self._changed = self._live_ops.changed(self._op_id)
            return live.since(next_index)
        return await self._look(next_index)
