"""The async NSO RESTCONF client: data operations, commits and the action groups.

Each write is its own NSO transaction; its commit parameters travel as query
flags or the 6.7 header depending on ``NsoConfig.nso_version``.  Bodies are
always serialised as JSON under ``application/yang-data+json``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from adapters.nso_restconf.commit import CommitParams, encode
from adapters.nso_restconf.config import NsoConfig
from adapters.nso_restconf.devices import DeviceActions
from adapters.nso_restconf.dryrun import DryRunResult, parse_dry_run
from adapters.nso_restconf.errors import CommitQueueTimeout, InvalidResponse, NotFound
from adapters.nso_restconf.paths import DEVICES, data_path
from adapters.nso_restconf.results import (
    DataReply,
    QueueItem,
    QueueItemStatus,
    WriteResult,
    parse_commit_result,
    queue_item,
)
from adapters.nso_restconf.services import ServiceActions
from adapters.nso_restconf.transport import YANG_PATCH_JSON, Query, Reply, Transport

Content = Literal["config", "nonconfig", "all"]
WithDefaults = Literal["report-all", "trim", "explicit", "report-all-tagged"]


class PatchEdit(BaseModel):
    """One edit of a YANG Patch (RFC 8072)."""

    model_config = ConfigDict(frozen=True)

    edit_id: str
    operation: Literal["create", "delete", "insert", "merge", "move", "replace", "remove"]
    target: str
    value: Any = None


class PatchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    patch_id: str
    ok: bool
    dry_run: DryRunResult | None = None


class NsoClient:
    """Async client for one NSO.  Use as ``async with NsoClient(config) as nso: ...``."""

    def __init__(
        self, config: NsoConfig, *, http_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.transport = Transport(config, http_transport=http_transport)
        self.devices = DeviceActions(self)
        self.services = ServiceActions(self)

    def __repr__(self) -> str:
        return f"NsoClient(url={self.config.url!r}, user={self.config.username!r})"

    async def __aenter__(self) -> NsoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    # --- reads -------------------------------------------------------------
    async def get(
        self,
        path: str,
        *,
        content: Content | None = None,
        depth: int | None = None,
        fields: str | None = None,
        exclude: str | None = None,
        with_defaults: WithDefaults | None = None,
        if_none_match: str | None = None,
    ) -> DataReply:
        """GET ``/restconf/data/<path>``; a 204 (empty container) gives ``body=None``."""
        if fields is not None and exclude is not None:
            raise ValueError("fields and exclude cannot be used together")
        if depth is not None and depth < 1:
            raise ValueError("depth must be at least 1")
        query: Query = {}
        if content is not None:
            query["content"] = content
        if depth is not None:
            query["depth"] = str(depth)
        if fields is not None:
            query["fields"] = fields
        if exclude is not None:
            query["exclude"] = exclude
        if with_defaults is not None:
            query["with-defaults"] = with_defaults
        headers = {"If-None-Match": if_none_match} if if_none_match else None
        reply = await self.transport.request(
            "GET", _data(path), query=query, headers=headers, idempotent=True, ok=(304,)
        )
        # model_construct: the fields are already typed; this is the hot read path.
        return DataReply.model_construct(
            body=None if reply.status == 304 else reply.json(),
            etag=reply.headers.get("ETag"),
            last_modified=reply.headers.get("Last-Modified"),
            not_modified=reply.status == 304,
        )

    async def exists(self, path: str) -> bool:
        try:
            await self.get(path, depth=1)
        except NotFound:
            return False
        return True

    # --- writes ------------------------------------------------------------
    async def put(
        self,
        path: str,
        body: Any,
        *,
        params: CommitParams | None = None,
        if_match: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> WriteResult:
        """Create or replace the node at ``path`` (201 created, 204 replaced)."""
        return await self._write(
            "PUT", path, body, params, if_match, if_unmodified_since, idempotent=True
        )

    async def create(
        self,
        parent: str,
        body: Any,
        *,
        params: CommitParams | None = None,
        if_match: str | None = None,
    ) -> WriteResult:
        """POST a new child under ``parent`` (``""``: the root); AlreadyExists if present."""
        return await self._write("POST", parent, body, params, if_match, None, idempotent=False)

    async def merge(
        self,
        path: str,
        body: Any,
        *,
        params: CommitParams | None = None,
        if_match: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> WriteResult:
        """PATCH (merge) into the existing node at ``path``."""
        return await self._write(
            "PATCH", path, body, params, if_match, if_unmodified_since, idempotent=True
        )

    async def delete(
        self,
        path: str,
        *,
        params: CommitParams | None = None,
        if_match: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> WriteResult:
        return await self._write(
            "DELETE", path, None, params, if_match, if_unmodified_since, idempotent=True
        )

    async def yang_patch(
        self,
        path: str,
        edits: list[PatchEdit],
        *,
        patch_id: str = "nsgw-patch",
        params: CommitParams | None = None,
        if_match: str | None = None,
    ) -> PatchResult:
        """Apply several edits in one transaction: all or nothing (RFC 8072)."""
        if not edits:
            raise ValueError("a YANG patch needs at least one edit")
        edit_list = []
        for edit in edits:
            entry: dict[str, Any] = {
                "edit-id": edit.edit_id,
                "operation": edit.operation,
                "target": edit.target,
            }
            if edit.value is not None:
                entry["value"] = edit.value
            edit_list.append(entry)
        body = {"ietf-yang-patch:yang-patch": {"patch-id": patch_id, "edit": edit_list}}
        query, headers = encode(params, self.config.commit_encoding)
        if if_match:
            headers["If-Match"] = if_match
        reply = await self.transport.request(
            "PATCH",
            _data(path),
            query=query,
            body=body,
            headers=headers,
            content_type=YANG_PATCH_JSON,
        )
        parsed = reply.json()
        if params is not None and params.is_dry_run:
            return PatchResult(patch_id=patch_id, ok=True, dry_run=parse_dry_run(parsed))
        status = (parsed or {}).get("ietf-yang-patch:yang-patch-status", {})
        return PatchResult(patch_id=str(status.get("patch-id", patch_id)), ok="ok" in status)

    async def _write(  # noqa: PLR0917 - private, called from four places
        self,
        method: str,
        path: str,
        body: Any,
        params: CommitParams | None,
        if_match: str | None,
        if_unmodified_since: str | None,
        *,
        idempotent: bool,
    ) -> WriteResult:
        query, headers = encode(params, self.config.commit_encoding)
        if if_match:
            headers["If-Match"] = if_match
        if if_unmodified_since:
            headers["If-Unmodified-Since"] = if_unmodified_since
        reply = await self.transport.request(
            method, _data(path), query=query, body=body, headers=headers, idempotent=idempotent
        )
        return _write_result(reply, params)

    # --- actions and the commit queue --------------------------------------
    async def action(
        self, path: str, input: dict[str, Any] | None = None, *, idempotent: bool = False
    ) -> Any:
        """POST an action at ``/restconf/data/<path>``; the reply body (None when empty)."""
        body = {"input": input} if input else None
        reply = await self.transport.request("POST", _data(path), body=body, idempotent=idempotent)
        return reply.json()

    async def queue_item(self, item_id: int) -> QueueItem:
        """A commit-queue item; a missing item has left the queue and reads as completed."""
        path = data_path(DEVICES, "commit-queue", ("queue-item", str(item_id)))
        try:
            reply = await self.get(path)
        except NotFound:
            return QueueItem(id=item_id, status=QueueItemStatus.COMPLETED)
        return queue_item(item_id, reply.value)

    async def wait_for_queue_item(
        self,
        item_id: int,
        *,
        timeout: float = 60.0,  # noqa: ASYNC109 - a polling budget, not a call timeout
        interval: float = 0.2,
    ) -> QueueItem:
        """Poll a commit-queue item until it is done; CommitQueueTimeout after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            item = await self.queue_item(item_id)
            if item.status.done:
                return item
            if time.monotonic() >= deadline:
                raise CommitQueueTimeout(
                    f"commit-queue item {item_id} still {item.status.value} after {timeout:g}s"
                )
            await asyncio.sleep(interval)


def _data(path: str) -> str:
    path = path.strip("/")
    return f"data/{path}" if path else "data"


def _write_result(reply: Reply, params: CommitParams | None) -> WriteResult:
    body = reply.json()
    if params is not None and params.is_dry_run:
        if reply.status != 200 or body is None:
            raise InvalidResponse(
                f"{reply.context}: asked for a dry-run but NSO answered HTTP {reply.status} "
                "without a dry-run result, so the change was probably committed; check that "
                "nso_version matches the server (it selects the commit-parameter encoding)",
                status=reply.status,
            )
        return WriteResult(status=reply.status, dry_run=parse_dry_run(body))
    info = parse_commit_result(body)
    return WriteResult(
        status=reply.status,
        etag=reply.headers.get("ETag"),
        last_modified=reply.headers.get("Last-Modified"),
        location=reply.headers.get("Location"),
        rollback_id=info.rollback_id,
        commit_queue_id=info.commit_queue_id,
        commit_queue_status=info.commit_queue_status,
    )
