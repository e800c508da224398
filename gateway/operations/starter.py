"""Starting operations from gRPC calls: the common fields of every mutating request.

Every mutating servicer of nsgw.v1 validates its own fields, then hands the
request to :meth:`OperationStarter.start` with its operation kind and target.
The starter checks ``request_id``, ``callback_url`` and ``progress_url``
(INVALID_ARGUMENT with field violations), records the caller, and answers
with the Operation, or with ALREADY_EXISTS for a reused request_id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import grpc
from google.protobuf.message import Message

from gateway.access.identity import current_caller
from gateway.operations.engine import OperationEngine
from gateway.operations.errors import ApiError, abort, invalid_argument
from gateway.operations.messages import operation_to_proto
from nsgw_proto.nsgw.v1 import operations_pb2

Context = grpc.aio.ServicerContext[Any, Any]
MAX_REQUEST_ID = 128


class OperationStarter:
    def __init__(self, engine: OperationEngine, callback_hosts: Iterable[str] = ()) -> None:
        """``callback_hosts``: hosts callbacks may go to (``name`` or ``*.domain``); empty: any."""
        self.engine = engine
        self._hosts = [h.strip().lower() for h in callback_hosts if h.strip()]

    def _host_allowed(self, host: str) -> bool:
        if not self._hosts:
            return True
        host = host.lower()
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in self._hosts
        )

    def _url_problem(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # ValueError for a port that is not a number
        except ValueError:
            return "is not a valid URL"
        if parts.scheme not in ("http", "https") or not host:
            return "must be an absolute http:// or https:// URL"
        if not self._host_allowed(host):
            return f"host {host} is not one callbacks may go to (operations_callback_hosts)"
        return None

    def validate(self, request_id: str, callback_url: str, progress_url: str) -> None:
        """ApiError INVALID_ARGUMENT (with field violations) for bad common fields."""
        problems: list[tuple[str, str]] = []
        if len(request_id) > MAX_REQUEST_ID:
            problems.append(("request_id", f"at most {MAX_REQUEST_ID} characters"))
        elif request_id and not request_id.isprintable():
            problems.append(("request_id", "must be printable text"))
        for field, url in (("callback_url", callback_url), ("progress_url", progress_url)):
            if url and (problem := self._url_problem(url)):
                problems.append((field, problem))
        if problems:
            raise invalid_argument(problems)

    async def start(
        self,
        context: Context,
        kind: str,
        *,
        target: str,
        request: Message,
        request_id: str,
        callback_url: str = "",
        progress_url: str = "",
    ) -> operations_pb2.Operation:
        """Start (or find, for a retried request_id) the operation of a gRPC call."""
        try:
            self.validate(request_id, callback_url, progress_url)
            op, _created = await self.engine.submit(
                kind,
                target=target,
                request=request,
                request_id=request_id,
                caller=current_caller(),
                callback_url=callback_url,
                progress_url=progress_url,
            )
        except ApiError as error:
            await abort(context, error)
        return operation_to_proto(op)
