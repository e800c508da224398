"""Typed results of reads, commits and actions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.nso_restconf.dryrun import DryRunResult
from adapters.nso_restconf.errors import InvalidResponse


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class DataReply(_Result):
    """A GET: the body (wrapped in the node's qualified name), and the datastore's tags."""

    body: Any = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    """True when ``If-None-Match`` matched (304): ``body`` is then None."""

    @property
    def value(self) -> Any:
        """The target node without its ``module:name`` wrapper (a list entry: the entry)."""
        if not isinstance(self.body, dict) or len(self.body) != 1:
            return self.body
        inner = next(iter(self.body.values()))
        if isinstance(inner, list) and len(inner) == 1:
            return inner[0]
        return inner


class WriteResult(_Result):
    """A write that was committed."""

    status: int
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    rollback_id: int | None = None
    commit_queue_id: int | None = None
    commit_queue_status: str | None = None
    dry_run: DryRunResult | None = None
    """Set for a dry-run: what would change (nothing was committed)."""


class QueueItemStatus(StrEnum):
    WAITING = "waiting"
    EXECUTING = "executing"
    ASYNC = "async"
    COMPLETED = "completed"
    TIMEOUT = "timeout"
    DELETED = "deleted"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (self.COMPLETED, self.TIMEOUT, self.DELETED, self.FAILED)


class QueueItem(_Result):
    id: int
    status: QueueItemStatus
    devices: list[str] = Field(default_factory=list)


class SyncStatus(StrEnum):
    IN_SYNC = "in-sync"
    OUT_OF_SYNC = "out-of-sync"
    UNKNOWN = "unknown"
    LOCKED = "locked"
    UNSUPPORTED = "unsupported"
    ERROR = "error"


class CheckSyncResult(_Result):
    device: str
    result: SyncStatus
    info: str = ""

    @property
    def in_sync(self) -> bool:
        return self.result is SyncStatus.IN_SYNC


class ActionResult(_Result):
    """``{result: bool, info}`` of connect, sync-from, sync-to."""

    result: bool
    info: str = ""


class PingResult(_Result):
    result: str


class HostKey(_Result):
    algorithm: str
    value: str


class FetchHostKeysResult(_Result):
    result: str
    fingerprints: list[HostKey] = Field(default_factory=list)


class Platform(_Result):
    name: str = ""
    version: str = ""
    model: str = ""
    serial_number: str = ""


class DeviceInfo(_Result):
    """A device as listed by NSO."""

    name: str
    address: str = ""
    port: int | None = None
    authgroup: str = ""
    ned_id: str = ""
    admin_state: str = ""
    platform: Platform = Field(default_factory=Platform)


class ServiceCheckSync(_Result):
    in_sync: bool
    info: str = ""


class RollbackInfo(_Result):
    rollback_id: int | None = None
    commit_queue_id: int | None = None
    commit_queue_status: str | None = None


def check_sync_result(device: Any, entry: Any) -> CheckSyncResult:
    """A check-sync output entry; InvalidResponse for a result NSO does not define."""
    try:
        return CheckSyncResult(
            device=str(device), result=entry.get("result", "unknown"), info=entry.get("info", "")
        )
    except (AttributeError, ValidationError):
        raise InvalidResponse(f"unreadable check-sync result for {device}: {entry!r}") from None


def queue_item(item_id: int, entry: Any) -> QueueItem:
    try:
        return QueueItem(id=item_id, status=entry["status"], devices=entry.get("devices", []))
    except (KeyError, TypeError, AttributeError, ValidationError):
        raise InvalidResponse(f"unreadable commit-queue item {item_id}: {entry!r}") from None


def parse_commit_result(body: Any) -> RollbackInfo:
    """The ``tailf-restconf:result`` of a write with rollback-id / commit-queue."""
    if not isinstance(body, dict):
        return RollbackInfo()
    result = body.get("tailf-restconf:result", body.get("result"))
    if not isinstance(result, dict):
        return RollbackInfo()
    rollback = result.get("rollback", {})
    queue = result.get("commit-queue", {})
    try:
        rid = rollback.get("id") if isinstance(rollback, dict) else None
        qid = queue.get("id") if isinstance(queue, dict) else None
        return RollbackInfo(
            rollback_id=int(rid) if rid is not None else None,
            commit_queue_id=int(qid) if qid is not None else None,
            commit_queue_status=queue.get("status") if isinstance(queue, dict) else None,
        )
    except (TypeError, ValueError):
        raise InvalidResponse(f"unreadable commit result {result!r}") from None


def action_output(body: Any) -> dict[str, Any]:
    """The ``<module>:output`` object of an action reply (empty for a 204)."""
    if body is None:
        return {}
    if isinstance(body, dict):
        for key, value in body.items():
            if key.split(":")[-1] == "output" and isinstance(value, dict):
                return value
    raise InvalidResponse(f"action reply has no output object: {str(body)[:120]!r}")
