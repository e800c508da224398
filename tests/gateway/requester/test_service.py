"""Correlating and applying callbacks, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.security import canonical_dn
from gateway.config import Settings
from gateway.db import Database, utcnow
from gateway.requester import store
from gateway.requester.peer_settings import NsiPeer
from gateway.requester.peers import PeerRegistry
from gateway.requester.service import RequesterService
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

PEER = "urn:ogf:network:peer.example:2025:nsa"
GUARDED = "urn:ogf:network:guarded.example:2025:nsa"
CID = "urn:uuid:11111111-2222-4333-8444-555555555555"


@pytest.fixture
async def service(database: Database) -> RequesterService:
    settings = Settings(
        nsi_peers=[
            NsiPeer(nsa_id=PEER, provider_url="http://127.0.0.1:9/nsi"),
            NsiPeer(
                nsa_id=GUARDED,
                provider_url="http://127.0.0.1:9/nsi",
                callback_dn="CN=guarded,O=Example,C=NL",
            ),
        ]
    )
    made = RequesterService(database, PeerRegistry(settings))
    conn = await made.new_connection(
        provider_nsa=PEER, source_stp="urn:ogf:network:a:1", dest_stp="urn:ogf:network:a:2",
        capacity_mbps=10, creator="test",
    )  # fmt: skip
    async with database.transaction() as session:
        session.add(
            store.RequestRow(
                correlation_id=CID,
                connection_ref=conn.id,
                operation_id="op",
                provider_nsa=PEER,
                operation="reserve",
                payload=b"<x/>",
                state=store.SENT,
                outcome="",
                error_id="",
                error_text="",
                sent_time=utcnow(),
                update_time=utcnow(),
            )
        )
    return made


def header(provider: str = PEER, correlation_id: str = CID) -> common_pb2.Header:
    return common_pb2.Header(
        correlation_id=correlation_id, requester_nsa=Settings().nsa_id, provider_nsa=provider
    )


def confirmed() -> requester_pb2.ReserveConfirmedRequest:
    message = requester_pb2.ReserveConfirmedRequest(header=header(), connection_id="p-1")
    message.criteria.version = 1
    message.criteria.ptps.capacity = 10
    message.criteria.ptps.source_stp = "urn:ogf:network:a:1?vlan=7"
    return message


async def connection_of(service: RequesterService) -> Any:
    async with service._db.sessions() as session:
        request = await store.request(session, CID)
        assert request is not None
        return await store.connection(session, request.connection_ref or ""), request


async def test_a_confirmation_is_applied_once(service: RequesterService) -> None:
    await service.handle_callback("reserveConfirmed", confirmed(), None)
    conn, request = await connection_of(service)
    assert (conn.connection_id, conn.reservation_state) == ("p-1", "ReserveHeld")
    assert (request.state, request.outcome) == (store.CONFIRMED, "reserveConfirmed")
    updated = conn.update_time
    await service.handle_callback("reserveConfirmed", confirmed(), None)  # a duplicate
    again, _ = await connection_of(service)
    assert again.update_time == updated


@pytest.mark.parametrize(
    ("operation", "message", "dn", "error_id"),
    [
        ("reserveConfirmed", "unknown-correlation", None, "00100"),
        ("provisionConfirmed", "wrong-answer", None, "00100"),
        ("reserveConfirmed", "stranger", None, "00302"),
        ("reserveConfirmed", "guarded-without-cert", None, "00302"),
        ("reserveConfirmed", "guarded-other-cert", "CN=other,O=Example,C=NL", "00302"),
        ("dataPlaneStateChange", "unknown-connection", None, "00203"),
    ],
)
async def test_refused_callbacks_change_nothing(
    service: RequesterService, operation: str, message: str, dn: str | None, error_id: str
) -> None:
    before, _ = await connection_of(service)
    made: Any
    if message == "unknown-correlation":
        made = confirmed()
        made.header.correlation_id = "urn:uuid:99999999-2222-4333-8444-555555555555"
    elif message == "wrong-answer":
        made = requester_pb2.GenericConfirmedRequest(header=header(), connection_id="p-1")
    elif message == "stranger":
        made = confirmed()
        made.header.provider_nsa = "urn:ogf:network:stranger:nsa"
    elif message.startswith("guarded"):
        made = confirmed()
        made.header.provider_nsa = GUARDED
    else:
        made = requester_pb2.DataPlaneStateChangeRequest(header=header())
        made.notification.connection_id = "nope"
        made.notification.notification_id = 1
    with pytest.raises(NsiError) as caught:
        await service.handle_callback(operation, made, canonical_dn(dn) if dn else None)
    assert caught.value.error_id == error_id
    after, request = await connection_of(service)
    assert after.update_time == before.update_time
    assert request.state == store.SENT


async def test_notifications_are_applied_once_per_id(service: RequesterService) -> None:
    await service.handle_callback("reserveConfirmed", confirmed(), None)
    queue = service.subscribe((await connection_of(service))[0].id)
    change = requester_pb2.DataPlaneStateChangeRequest(header=header())
    change.notification.connection_id = "p-1"
    change.notification.notification_id = 1
    change.data_plane_status.active = True
    await service.handle_callback("dataPlaneStateChange", change, None)
    await service.handle_callback("dataPlaneStateChange", change, None)
    assert queue.qsize() == 1
    event = queue.get_nowait()
    assert event.notice is not None
    assert event.notice.type == "dataPlaneStateChange"
    conn, _ = await connection_of(service)
    assert conn.data_plane_active
    assert conn.last_notification_id == 1
