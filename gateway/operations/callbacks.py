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
from typing import Any

import httpx
from google.protobuf import json_format
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.logs import get_logger
from gateway.operations.messages import operation_to_proto, progress_to_proto, state_to_proto
from gateway.operations.model import Operation, Progress
from gateway.outbox import DeliveryError, DeliveryRefused, Envelope, Outbox
from nsgw_proto.nsgw.v1 import operations_pb2

CHANNEL = "operation-callback"
EVENT_HEADER = "X-Nsgw-Event"
OPERATION_HEADER = "X-Nsgw-Operation"
log = get_logger(__name__)
# Session.info key: the session's next commit wakes the outbox.
_WAKE_REGISTERED = "nsgw.operations.wake_outbox"


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

    The outbox is woken after a transaction that queued a callback commits,
    and only then: waking it for every state change would make it scan the
    database (and on SQLite queue for the write lock) once per change.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def _add(self, session: AsyncSession, ordering_key: str, **message: Any) -> None:
        self._outbox.add(session, CHANNEL, ordering_key, **message)
        sync_session = session.sync_session
        if not sync_session.info.get(_WAKE_REGISTERED):
            sync_session.info[_WAKE_REGISTERED] = True
            # Stays registered (and the flag set) until a commit fires it.
            event.listen(sync_session, "after_commit", self._wake_after_commit, once=True)

    def _wake_after_commit(self, sync_session: Session) -> None:
        sync_session.info.pop(_WAKE_REGISTERED, None)
        self._outbox.wake()

    def on_progress(self, session: AsyncSession, op: Operation, progress: Progress) -> None:
        if op.progress_url:
            self._add(
                session,
                f"{op.id}/progress",
                destination=op.progress_url,
                payload=progress_payload(op, progress),
                attributes={"operation": op.name, "event": "progress", "index": progress.index},
            )

    def on_end(self, session: AsyncSession, op: Operation) -> None:
        if op.callback_url:
            self._add(
                session,
                op.id,
                destination=op.callback_url,
                payload=end_payload(op),
                attributes={"operation": op.name, "event": "end", "state": op.state.value},
            )

    def after_commit(self) -> None:
        """Nothing to do: the transactions that queued a callback wake the outbox themselves."""


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
