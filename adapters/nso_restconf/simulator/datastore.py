"""NSO's running datastore in the simulator: the data tree, its entity tag and rollbacks."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from adapters.nso_restconf.simulator.tree import clone


@dataclass(frozen=True)
class Rollback:
    id: int
    label: str
    comment: str
    before: dict[str, Any]


class Datastore:
    """The tree plus what changes with every write: ``Etag``, ``Last-Modified``, rollbacks."""

    def __init__(self, tree: dict[str, Any] | None = None) -> None:
        self.tree: dict[str, Any] = tree if tree is not None else {}
        self._generation = 0
        self._salt = secrets.token_hex(3)
        self.modified = time.time()
        self.rollbacks: list[Rollback] = []
        self._next_rollback = 10000

    @property
    def etag(self) -> str:
        return f'"{self._salt}-{self._generation}"'

    @property
    def last_modified(self) -> str:
        return formatdate(self.modified, usegmt=True)

    def replace(self, tree: dict[str, Any], label: str = "", comment: str = "") -> int:
        """Install a committed tree; returns the rollback id of the commit."""
        self._next_rollback += 1
        self.rollbacks.append(Rollback(self._next_rollback, label, comment, self.tree))
        self.tree = tree
        self._generation += 1
        self.modified = time.time()
        return self._next_rollback

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = clone(self.tree)
        return snapshot

    def matches(self, if_match: str | None, if_unmodified_since: str | None) -> bool:
        """Whether the write preconditions hold."""
        if if_match is not None:
            tags = [t.strip() for t in if_match.split(",")]
            if "*" not in tags and self.etag not in tags:
                return False
        if if_unmodified_since is not None:
            try:
                since = parsedate_to_datetime(if_unmodified_since).timestamp()
            except (TypeError, ValueError):
                return True  # an unreadable date is ignored (RFC 9110)
            if int(self.modified) > since:
                return False
        return True

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """Whether a GET may answer 304."""
        if if_none_match is not None:
            tags = [t.strip() for t in if_none_match.split(",")]
            return "*" in tags or self.etag in tags
        if if_modified_since is not None:
            try:
                since = parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
            return int(self.modified) <= since
        return False
