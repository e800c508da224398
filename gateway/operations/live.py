"""What this process knows of the operations it runs, so that watchers need not re-read it.

The engine publishes every change of an operation it runs here, once the
change is committed: the operation as the database now holds it and the
progress messages the change added.  A watcher reads the database once, then
takes what follows from here as long as it is contiguous with what it has
already seen; anything this process cannot know (a change made by another
process sharing the database, a gap after a write whose caller was
cancelled) sends it back to the database.

Every change of an operation adds a progress message, so the index of the
next message is also the position of the latest change: a watcher that has
seen messages up to ``i - 1`` has seen every change before the one that
wrote message ``i``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from gateway.operations.model import Operation, Progress


@dataclass
class LiveOperation:
    """The latest committed state of one operation and its progress from ``base`` on."""

    op: Operation  # without progress
    base: int
    progress: list[Progress] = field(default_factory=list)

    @property
    def next_index(self) -> int:
        return self.base + len(self.progress)

    def has_news(self, next_index: int) -> bool:
        """True when it holds every change from progress ``next_index`` on, and at least one."""
        return self.base <= next_index < self.next_index

    def since(self, next_index: int) -> Operation:
        """The operation with its progress from ``next_index`` (see :meth:`has_news`)."""
        return replace(self.op, progress=self.progress[next_index - self.base :])


class LiveOperations:
    """Operations running in this process, and the wake-ups of their watchers."""

    def __init__(self) -> None:
        self._ops: dict[str, LiveOperation] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._watchers: dict[str, int] = {}

    def get(self, op_id: str) -> LiveOperation | None:
        return self._ops.get(op_id)

    def begin(self, op: Operation) -> None:
        """A new operation (no progress yet) that this process runs."""
        self._ops[op.id] = LiveOperation(replace(op, progress=[]), base=0)
        self.notify(op.id)

    def publish(self, op: Operation, progress: list[Progress], *, running_here: bool) -> None:
        """A committed change: ``op`` as it now is and the progress the change added.

        An operation this process runs but does not know yet (resumed after a
        restart) starts here; one it knows only in part starts afresh from the
        new progress; a change older than the one already known is ignored.
        """
        live = self._ops.get(op.id)
        first = progress[0].index if progress else None
        if live is None:
            if running_here and first is not None:
                live = self._ops[op.id] = LiveOperation(replace(op, progress=[]), base=first)
                live.progress.extend(progress)
        elif first is None or first < live.next_index:
            pass  # published out of order: the watchers re-read the database
        else:
            if first > live.next_index:
                live.base, live.progress = first, []
            live.op = replace(op, progress=[])
            live.progress.extend(progress)
        if op.ended:
            # Watchers keep the record they hold; later ones read the database.
            self._ops.pop(op.id, None)
        self.notify(op.id)

    def forget(self, op_id: str) -> None:
        self._ops.pop(op_id, None)
        self.notify(op_id)

    @contextmanager
    def watching(self, op_id: str) -> Iterator[None]:
        """While a watcher follows the operation (its wake-up event is dropped after the last)."""
        self._watchers[op_id] = self._watchers.get(op_id, 0) + 1
        try:
            yield
        finally:
            left = self._watchers.pop(op_id) - 1
            if left:
                self._watchers[op_id] = left
            else:
                self._changed.pop(op_id, None)

    def changed(self, op_id: str) -> asyncio.Event:
        """An event set at the next change of the operation (take it before looking)."""
        event = self._changed.get(op_id)
        if event is None:
            event = self._changed[op_id] = asyncio.Event()
        return event

    def notify(self, op_id: str) -> None:
        """Wake the watchers of an operation (they look again)."""
        event = self._changed.pop(op_id, None)
        if event is not None:
            event.set()
