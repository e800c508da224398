"""This process's turn to write to its SQLite database, shared by the event loop and threads.

SQLite lets one connection write at a time.  The writers of this process (the
event loop's units, the writer thread's, the checkpointer's closing copy)
take turns here before they ask SQLite, so they queue in this process
instead of polling in SQLite's busy handler.

A thread waits for the turn by blocking (:meth:`WriteTurn.take`).  The event
loop never blocks on it: a unit that finds the turn with a thread waits for
it on the loop (:meth:`WriteTurn.taken`) and is woken when the thread gives it
back, so it still runs on the loop's own connection.  Handing such a unit to
the writer thread instead kept that thread busy: every unit asked for while it
wrote queued behind it, and under load the queue never emptied, each unit
paying a hop to the thread and back.

A thread that waits for the turn goes before the loop's units: the loop
gives the turn back between units, but takes it again before a blocked
thread wakes, so a checkpoint waiting for it under writes that never pause
would wait forever.  The loop's waiters are woken in the order they came; one
that finds the turn taken again waits once more, at the back.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class WriteTurn:
    """A lock the event loop waits for without blocking, and threads by blocking."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads_waiting = 0
        self._counting = threading.Lock()  # guards _threads_waiting
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    def take_now(self) -> bool:
        """Take the turn if it is free; never waits."""
        return self._lock.acquire(blocking=False)

    def take(self, timeout: float = -1) -> bool:
        """Take the turn, blocking the calling thread (never the event loop's) for it.

        ``timeout`` in seconds (-1: as long as it takes); whether it was taken.
        """
        with self._counting:
            self._threads_waiting += 1
        try:
            taken = self._lock.acquire(timeout=timeout)
        finally:
            with self._counting:
                self._threads_waiting -= 1
        if not taken and self._waiting:
            self._wake_next()  # the loop's units that let this thread go first
        return taken

    def __enter__(self) -> None:
        """``with turn:`` on a thread: :meth:`take` (as long as it takes), then give it back."""
        self.take()

    def __exit__(self, *_exc: object) -> None:
        self.give_back()

    def give_back(self) -> None:
        """Give the turn back (from whichever thread took it) and wake the next waiter."""
        self._lock.release()
        if self._waiting:
            self._wake_next()

    async def taken(self) -> None:
        """Take the turn, waiting on the event loop while a thread has it or waits for it."""
        while self._threads_waiting or not self.take_now():
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, future))
            if not self._threads_waiting and self.take_now():  # given back before this
                # waiter was noted: nobody would wake it
                future.cancel()
                return
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._wake_next()  # woken, then cancelled: the next waiter gets the wake
                raise

    def _wake_next(self) -> None:
        while self._waiting:
            try:
                loop, future = self._waiting.popleft()
            except IndexError:  # another thread woke the last one
                return
            if future.done() or loop.is_closed():
                continue
            loop.call_soon_threadsafe(self._wake, future)
            return

    def _wake(self, future: asyncio.Future[None]) -> None:
        if future.done():  # its waiter left meanwhile: the wake goes to the next one
            self._wake_next()
        else:
            future.set_result(None)
