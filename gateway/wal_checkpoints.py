"""SQLite WAL checkpoints on a thread of their own, not inside a writer's commit.

In WAL mode a commit appends pages to the write-ahead log, and the log is
copied back into the database file by a checkpoint.  By default the commit
that takes the log past 1,000 pages runs that checkpoint itself, fsyncs
included, and the writers of this process commit on the event loop: every
few dozen units the loop stood still for the copy and two fsyncs, about half
a millisecond per unit on average.

Here the writers' connections leave checkpoints alone
(``wal_autocheckpoint=0``) and :class:`Checkpointer` runs a PASSIVE checkpoint
on its own connection and thread, at most every ``interval`` seconds and only
after something was written.  A PASSIVE checkpoint never waits for readers
or writers and never makes them wait; what it cannot copy yet, the next one
does.  A page written many times between two checkpoints is copied once.

The log starts again from its beginning only when a writer finds every page
of it copied.  Under writes that never pause, each checkpoint ended with a
few pages committed while it ran, so that moment never came and the log grew
without bound (450 MB in half a minute of SOAP lifecycles, every commit
extending the file).  So a checkpoint that copied something is followed by
a second one that holds this process's write turn
(:class:`~gateway.write_turn.WriteTurn`): nothing is committed while it copies
the few pages the first left, and the next writer starts the log over.  The
event loop's writers wait for their turn meanwhile (a few milliseconds, most of
it the second copy's fsyncs) without blocking the loop.  ``journal_size_limit``
cuts a log that a burst made large back to :data:`LOG_SIZE_LIMIT` when it
starts over.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from gateway.logs import get_logger
from gateway.write_turn import WriteTurn

log = get_logger(__name__)


# The size (bytes) the log file is cut back to when it starts over.
LOG_SIZE_LIMIT = 64 * 1024 * 1024


def no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook for the connections whose log a :class:`Checkpointer` copies."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT}")
    cursor.close()


class Checkpointer:
    """Copies the WAL of one database file into it, in the background."""

    def __init__(
        self, path: str, *, interval: float = 0.5, write_turn: WriteTurn | None = None
    ) -> None:
        """``write_turn``: the turn this process's writers take (None: the log may not
        start over while writes never pause)."""
        self._path = path
        self._interval = interval
        self._write_turn = write_turn
        self._written = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def written(self) -> None:
        """A unit committed: the log has pages to copy (cheap; called after every commit)."""
        self._written.set()
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, check_same_thread=False)
        try:
            while not self._stopping.is_set():
                self._written.wait()
                if self._stopping.is_set():
                    break
                self._written.clear()
                self._checkpoint(connection)
                self._stopping.wait(self._interval)  # let commits gather
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            in_log = _copy(connection)
            turn = self._write_turn
            # (a turn not had within the interval: the next checkpoint tries again)
            if in_log and turn is not None and turn.take(timeout=self._interval):
                try:
                    _copy(connection)  # what was committed while the first one copied
                finally:
                    turn.give_back()
        except sqlite3.Error as exc:  # e.g. the file went away at shutdown; the next one retries
            log.warning("WAL checkpoint failed", error=str(exc))

    def stop(self) -> None:
        """Stop the thread (SQLite checkpoints what is left when the last connection closes)."""
        self._stopping.set()
        self._written.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _copy(connection: sqlite3.Connection) -> int:
    """A PASSIVE checkpoint; how many pages the log held (0: it was empty)."""
    _busy, in_log, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return max(int(in_log), 0)
