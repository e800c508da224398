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
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from gateway.logs import get_logger

log = get_logger(__name__)


def no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook for the connections whose log a :class:`Checkpointer` copies."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class Checkpointer:
    """Copies the WAL of one database file into it, in the background."""

    def __init__(self, path: str, *, interval: float = 0.5) -> None:
        self._path = path
        self._interval = interval
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
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # e.g. the file went away at shutdown; the next one retries
            log.warning("WAL checkpoint failed", error=str(exc))

    def stop(self) -> None:
        """Stop the thread (SQLite checkpoints what is left when the last connection closes)."""
        self._stopping.set()
        self._written.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
