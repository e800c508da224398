"""Callbacks: an operation's end (and progress) POSTed as JSON to the caller's URLs.

The messages are queued in the shared outbox (channel ``operation-callback``)
inside the transaction that records the change, so a callback is never lost
and never sent for a change that was rolled back; the outbox retries with
backoff, also across restarts.  The end of every operation is called back,
failures and cancellations included.  Progress messages go to
``progress_url`` under their own ordering key, so a slow progress receiver
never holds back the final callback.

Body of the final callback: the Operation in the proto3 JSON mapping.  Body of a
progress callback: ``{"name", "kind", "target", "state", "progress": {...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from google.protobuf import json_format
from sqlalchemy import insert
from sqlalchemy.orm import Session

from gateway.db import table_of, utcnow
from gateway.logs import get_logger
from gateway.operations.messages import operation_to_proto, progress_to_proto, state_to_proto
from gateway.operations.model import Operation, Progress
from gateway.outbox import PENDING, DeliveryError, DeliveryRefused, Envelope, Outbox, OutboxRow
from nsgw_proto.nsgw.v1 import operations_pb2

CHANNEL = "operation-callback"
EVENT_HEADER = "X-Nsgw-Event"
OPERATION_HEADER = "X-Nsgw-Operation"
log = get_logger(__name__)
_INSERT_OUTBOX = insert(table_of(OutboxRow))  # built once


def end_payload(op: Operation) -> bytes:
    return json_format.MessageToJson(operation_to_proto(op), indent=None).encode()


def progress_payload(op: Operation, progress: Progress) -> bytes:
    body = {
        "name": op.name,
        "kind": op.kind,
        "target": op.target,
        "state": operations_pb2.OperationState.Name(state_to_proto(op.state)),
        "progress": json_format.MessageToDict(progress_to_proto(progress)),
    }
    return json.dumps(body).encode()


class CallbackNotifier:
    """Queues callbacks in the transaction of the change (the engine's Notifier).

    The rows go straight into the outbox table on the engine's synchronous
    session (one statement built once); the engine calls :meth:`after_commit`
    after a transaction that queued a callback committed, and only then:
    waking the outbox for every state change would make it scan the database
    once per change.
    """

    def __init__(self, outbox: Outbox, clock: Callable[[], datetime] = utcnow) -> None:
        self._outbox = outbox
        self._clock = clock

    def _add(self, session: Session, ordering_key: str, **message: Any) -> bool:
        now = self._clock()
        session.execute(
            _INSERT_OUTBOX,
            {
                "channel": CHANNEL,
                "ordering_key": ordering_key,
                "state": PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                **message,
            },
        )
        return True

    def on_progress(self, session: Session, op: Operation, progress: Progress) -> bool:
        if not op.progress_url:
            return False
        return self._add(
            session,
            f"{op.id}/progress",
            destination=op.progress_url,
            payload=progress_payload(op, progress),
            attributes={"operation": op.name, "event": "progress", "index": progress.index},
        )

    def on_end(self, session: Session, op: Operation) -> bool:
        if not op.callback_url:
            return False
        return self._add(
            session,
            op.id,
            destination=op.callback_url,
            payload=end_payload(op),
            attributes={"operation": op.name, "event": "end", "state": op.state.value},
        )

    def after_commit(self) -> None:
        """A transaction that queued callbacks committed: the outbox delivers them now."""
        self._outbox.wake()


class CallbackSender:
    """Delivers one queued callback by HTTP POST (the outbox's deliver function)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, message: Envelope) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        event = str(message.attributes.get("event", "end"))
        operation = str(message.attributes.get("operation", ""))
        try:
            response = await self._client.post(
                message.destination,
                content=message.payload,
                headers={
                    "Content-Type": "application/json",
                    EVENT_HEADER: event,
                    OPERATION_HEADER: operation,
                    # The same key on every retry of one message: receivers can drop repeats.
                    "Idempotency-Key": f"nsgw-callback-{message.id}",
                },
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (408, 425, 429) or status >= 500:
            raise DeliveryError(f"HTTP {status} from the callback receiver")
        raise DeliveryRefused(f"HTTP {status} from the callback receiver")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def log_given_up(message: Envelope, reason: str) -> None:
    log.error(
        "operation callback given up",
        operation=message.attributes.get("operation"),
        callback_event=message.attributes.get("event"),
        destination=message.destination,
        reason=reason,
    )


def register(outbox: Outbox, sender: CallbackSender, give_up_after: float) -> None:
    outbox.register(CHANNEL, sender, on_give_up=log_given_up, give_up_after=give_up_after)
