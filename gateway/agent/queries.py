"""The agent's queries: summary/recursive, notifications, results (sync and async)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.agent import messages as msg
from gateway.agent import store
from gateway.agent.core import AgentCore, RequestContext
from gateway.agent.domain.errors import (
    CONNECTION_ID,
    ErrorCode,
    NsiError,
)
from gateway.agent.domain.reservation import (
    Criteria,
)
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2


class AgentQueries(AgentCore):
    # -- queries ------------------------------------------------------------
    async def query_summary(
        self,
        ctx: RequestContext,
        connection_ids: list[str],
        global_ids: list[str],
        if_modified_since: datetime | None,
    ) -> requester_pb2.QueryConfirmedRequest:
        self.check_header(ctx)

        def body(
            session: Session,
        ) -> tuple[list[store.ReservationRow], dict[str, list[Criteria]]]:
            query = select(store.ReservationRow)
            if connection_ids or global_ids:
                query = query.where(
                    or_(
                        store.ReservationRow.connection_id.in_(connection_ids),
                        store.ReservationRow.global_reservation_id.in_(global_ids),
                    )
                )
            else:
                query = query.where(store.ReservationRow.requester_nsa == ctx.requester_nsa)
            if if_modified_since is not None:
                query = query.where(store.ReservationRow.last_modified > if_modified_since)
            rows = list(session.scalars(query.order_by(store.ReservationRow.created_at)))
            return rows, store.criteria_of(session, [r.connection_id for r in rows])

        rows, versions = await self._run_read(body)
        out = requester_pb2.QueryConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            res = store.reservation_from_row(row, {})
            out.reservation.append(
                requester_pb2.QueryResult(
                    connection_id=row.connection_id,
                    global_reservation_id=row.global_reservation_id,
                    description=row.description,
                    criteria=[msg.query_criteria(c) for c in versions.get(row.connection_id, [])],
                    requester_nsa=row.requester_nsa,
                    connection_states=msg.connection_states(res),
                    notification_id=row.notification_seq,
                    result_id=row.result_seq,
                )
            )
        if rows:
            out.last_modified.CopyFrom(msg.timestamp(max(r.last_modified for r in rows)))
        return out

    async def query_notifications(
        self, ctx: RequestContext, connection_id: str, first: int, last: int
    ) -> requester_pb2.QueryNotificationConfirmedRequest:
        self.check_header(ctx)

        def body(session: Session) -> list[store.NotificationRow]:
            self._require(session, connection_id)
            return store.notifications(session, connection_id, first, last)

        rows = await self._run_read(body)
        out = requester_pb2.QueryNotificationConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            _, cls = msg.NOTIFICATION_KINDS[row.kind]
            item = cls.FromString(row.payload)
            getattr(out, row.kind).append(item)
        return out

    async def query_results(
        self, ctx: RequestContext, connection_id: str, first: int, last: int
    ) -> requester_pb2.QueryResultConfirmedRequest:
        self.check_header(ctx)

        def body(session: Session) -> list[store.ResultRow]:
            self._require(session, connection_id)
            return store.results(session, connection_id, first, last)

        rows = await self._run_read(body)
        out = requester_pb2.QueryResultConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            _, cls = msg.RESULT_KINDS[row.kind]
            result = requester_pb2.ResultResponse(
                result_id=row.result_id,
                correlation_id=row.correlation_id,
                time_stamp=msg.timestamp(row.created_at),
            )
            getattr(result, row.kind).CopyFrom(cls.FromString(row.payload))
            out.result.append(result)
        return out

    def _require(self, session: Session, connection_id: str) -> None:
        if not connection_id or session.get(store.ReservationRow, connection_id) is None:
            raise NsiError(
                ErrorCode.RESERVATION_NONEXISTENT,
                "no such connection",
                [(CONNECTION_ID, connection_id)],
            )

    async def send_query_answer(self, ctx: RequestContext, method: str, answer: Message) -> None:
        """Deliver the answer of an asynchronous query through the outbox."""

        def body(session: Session) -> None:
            self._send(session, f"query:{ctx.requester_nsa}", method, answer, ctx.correlation_id)

        await self._run(body)
