"""The requester against an independent SOAP provider double (lxml, official XSDs).

A gateway in this process reserves at the double through nsgw.v1.Connections;
the double validates every message nsgw sends and answers normally, with
faults, late, twice or never.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree

from gateway.assembly import build_components
from gateway.client import NsgwClient
from gateway.config import Settings
from gateway.process import Gateway
from gateway.requester.peer_settings import NsiPeer
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as res_pb2
from nsgw_proto.nsgw.v1 import operations_pb2 as ops_pb2
from tests.adapters.nsi_soap.schemas import NsiSchemas
from tests.e2e.soap_provider_double import NSA, SoapProviderDouble, serve_double
from tests.helpers import free_port

SOURCE = "urn:ogf:network:double.example:2025:topo:a?vlan=200"
DEST = "urn:ogf:network:double.example:2025:topo:b?vlan=200"


@dataclass
class Setup:
    double: SoapProviderDouble
    url: str
    tmp: Path
    gateway: Gateway | None = None
    client: NsgwClient | None = None

    async def start(self, confirm_timeout: float = 1.0) -> NsgwClient:
        settings = Settings(
            state_dir=self.tmp,
            grpc_port=0,
            http_port=0,
            nso_sim_port=free_port(),
            nsi_peers=[NsiPeer(nsa_id=NSA, provider_url=self.url, retries=0)],
            requester_confirm_timeout=confirm_timeout,
        )
        self.gateway = Gateway(settings, build_components(settings))
        await self.gateway.start()
        assert self.gateway.grpc is not None
        self.client = NsgwClient(f"127.0.0.1:{self.gateway.grpc.port}")
        return self.client

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.gateway is not None:
            await self.gateway.stop()
        self.gateway = self.client = None

    @property
    def requester_url(self) -> str:
        assert self.gateway is not None
        return f"http://127.0.0.1:{self.gateway.http.port}/nsi/v2/requester"


@pytest.fixture
async def setup(nsi_schemas: NsiSchemas, tmp_path: Path) -> AsyncIterator[Setup]:
    double = SoapProviderDouble(nsi_schemas)
    async with serve_double(double) as url:
        made = Setup(double, url, tmp_path)
        try:
            yield made
        finally:
            await made.stop()
    assert double.invalid == []


async def create(client: NsgwClient, **options: object) -> ops_pb2.Operation:
    op = await client.connections.create(SOURCE, DEST, 500, provider_nsa=NSA, **options)  # type: ignore[arg-type]
    return await client.operations.wait(op.name)


async def test_lifecycle_with_modify_release_terminate(setup: Setup) -> None:
    client = await setup.start(confirm_timeout=10)
    done = await create(client, description="to the double")
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    name = done.connection.name
    assert done.connection.provider_nsa == NSA
    assert done.connection.connection_id == "double-1"
    operations = [operation for operation, _ in setup.double.received]
    assert operations == ["reserve", "reserveCommit", "provision"]
    correlation_ids = [cid for _, cid in setup.double.received]
    assert len(set(correlation_ids)) == 3  # a fresh correlationId per request

    modified = await client.operations.wait(
        (await client.connections.modify(name, capacity_mbps=900)).name
    )
    assert modified.state == ops_pb2.OPERATION_STATE_SUCCEEDED, modified.error
    assert modified.connection.capacity_mbps == 900
    assert modified.connection.version == 2

    released = await client.operations.wait((await client.connections.release(name)).name)
    assert released.connection.nsi_states.provision_state == "Released"
    await setup.double.settle()
    shown = await client.connections.get(name)
    assert shown.state == res_pb2.CONNECTION_STATE_RELEASED

    ended = await client.operations.wait((await client.connections.terminate(name)).name)
    assert ended.connection.state == res_pb2.CONNECTION_STATE_TERMINATED
    assert set(setup.double.callback_answers) == {200}


async def test_a_fault_fails_the_operation_with_the_peers_service_exception(setup: Setup) -> None:
    setup.double.behaviour["reserve"] = "fault"
    client = await setup.start()
    done = await create(client)
    assert done.state == ops_pb2.OPERATION_STATE_FAILED
    assert done.error.reason == "PROVIDER_REFUSED"
    assert done.error.metadata["nsi_error_id"] == "00701"
    assert "UNKNOWN_STP" in done.error.message
    [listed] = (await client.connections.list()).connections
    assert listed.state == res_pb2.CONNECTION_STATE_FAILED
    assert "UNKNOWN_STP" in listed.failure


async def test_a_confirmation_that_never_comes_fails_after_the_timeout(setup: Setup) -> None:
    setup.double.behaviour["reserveCommit"] = "silent"
    client = await setup.start(confirm_timeout=0.5)
    done = await create(client)
    assert done.state == ops_pb2.OPERATION_STATE_FAILED
    assert done.error.reason == "CONFIRMATION_TIMEOUT"
    assert "no confirmation of reserveCommit" in done.error.message
    assert [op for op, _ in setup.double.received] == ["reserve", "reserveCommit"]


async def test_a_late_confirmation_still_updates_the_connection(setup: Setup) -> None:
    setup.double.behaviour["provision"] = "late"
    client = await setup.start(confirm_timeout=0.5)
    done = await create(client)
    assert done.state == ops_pb2.OPERATION_STATE_FAILED
    assert done.error.reason == "CONFIRMATION_TIMEOUT"
    name = (await client.connections.list()).connections[0].name
    await setup.double.settle()
    shown = await client.connections.get(name)
    assert shown.nsi_states.provision_state == "Provisioned"
    assert shown.state == res_pb2.CONNECTION_STATE_ACTIVE


async def test_duplicate_callbacks_are_acknowledged_and_applied_once(setup: Setup) -> None:
    setup.double.behaviour.update(
        reserve="duplicate", reserveCommit="duplicate", provision="duplicate"
    )
    client = await setup.start(confirm_timeout=10)
    done = await create(client)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    await setup.double.settle()
    assert setup.double.callback_answers.count(200) == 7  # 3 results twice + 1 data plane change
    confirmations = [p.message for p in done.progress if "Confirmed from" in p.message]
    assert len(confirmations) == 3


async def test_reserve_timeout_is_reflected_and_watched(setup: Setup) -> None:
    client = await setup.start(confirm_timeout=10)
    done = await create(client, reserve_only=True)
    assert done.connection.state == res_pb2.CONNECTION_STATE_RESERVING
    events = client.connections.watch(done.connection.name)
    first = await anext(events)
    assert first.connection.state == res_pb2.CONNECTION_STATE_RESERVING
    setup.double.reserve_timeout("double-1")
    seen = await anext(events)
    assert seen.notification.type == "reserveTimeout"
    assert seen.connection.state == res_pb2.CONNECTION_STATE_FAILED
    assert seen.connection.nsi_states.reservation_state == "ReserveTimeout"
    await events.aclose()  # type: ignore[attr-defined]


async def test_error_event_and_message_delivery_timeout_are_reflected(setup: Setup) -> None:
    client = await setup.start(confirm_timeout=10)
    done = await create(client)
    name = done.connection.name
    # The operation ends at provisionConfirmed; the data plane's change may still be on its way.
    await setup.double.settle()
    events = client.connections.watch(name)
    assert (await anext(events)).connection.state == res_pb2.CONNECTION_STATE_ACTIVE
    received_before = len(setup.double.received)
    setup.double.message_delivery_timeout("double-1", setup.double.received[-1][1])
    lost = await anext(events)
    assert lost.notification.type == "messageDeliveryTimeout"
    await setup.double.settle()
    for _ in range(50):  # the connection is reconciled in the background
        if "querySummarySync" in [op for op, _ in setup.double.received[received_before:]]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("no reconcile after messageDeliveryTimeout")

    setup.double.error_event("double-1", "forcedEnd")
    failed = await anext(events)
    assert failed.notification.type == "errorEvent"
    assert "forcedEnd" in failed.notification.text
    assert failed.connection.state == res_pb2.CONNECTION_STATE_FAILED
    assert failed.connection.nsi_states.lifecycle_state == "Failed"
    await events.aclose()  # type: ignore[attr-defined]


async def test_restart_mid_lifecycle_is_reconciled(setup: Setup) -> None:
    setup.double.drop_callbacks = True  # every callback is lost while we are "down"
    client = await setup.start(confirm_timeout=20)
    op = await client.connections.create(SOURCE, DEST, 500, provider_nsa=NSA)
    while not setup.double.received:
        await anext(client.operations.watch(op.name))
    await setup.double.settle()
    await setup.stop()

    setup.double.drop_callbacks = False
    client = await setup.start(confirm_timeout=20)
    done = await client.operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    operations = [operation for operation, _ in setup.double.received]
    assert operations.count("reserve") == 1
    assert {"querySummarySync", "queryResultSync", "queryNotificationSync"} <= set(operations)
    assert operations[-2:] == ["reserveCommit", "provision"]
    await setup.double.settle()
    shown = await client.connections.get(done.connection.name)
    assert shown.state == res_pb2.CONNECTION_STATE_ACTIVE


def _callback(correlation_id: str, provider: str, body: str) -> bytes:
    return (
        '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:h="http://schemas.ogf.org/nsi/2013/12/framework/headers" '
        'xmlns:ct="http://schemas.ogf.org/nsi/2013/12/connection/types"><S:Header><h:nsiHeader>'
        "<protocolVersion>application/vnd.ogf.nsi.cs.v2.requester+soap</protocolVersion>"
        f"<correlationId>{correlation_id}</correlationId>"
        "<requesterNSA>urn:ogf:network:example.net:2025:nsa:nsgw</requesterNSA>"
        f"<providerNSA>{provider}</providerNSA></h:nsiHeader></S:Header>"
        f"<S:Body>{body}</S:Body></S:Envelope>"
    ).encode()


async def test_bad_callbacks_are_refused_and_change_nothing(
    setup: Setup, nsi_schemas: NsiSchemas
) -> None:
    client = await setup.start(confirm_timeout=10)
    done = await create(client, reserve_only=True)
    before = await client.connections.get(done.connection.name)
    unknown = "urn:uuid:00000000-0000-4000-8000-000000000000"
    confirmed = (
        "<ct:reserveCommitConfirmed><connectionId>double-1</connectionId>"
        "</ct:reserveCommitConfirmed>"
    )
    cases = {
        "00100": _callback(unknown, NSA, confirmed),
        "00302": _callback(unknown, "urn:ogf:network:stranger:nsa", confirmed),
        "00203": _callback(
            unknown,
            NSA,
            "<ct:dataPlaneStateChange><connectionId>nope</connectionId><notificationId>1"
            "</notificationId><timeStamp>2026-11-30T00:00:00Z</timeStamp><dataPlaneStatus>"
            "<active>true</active><version>1</version><versionConsistent>true</versionConsistent>"
            "</dataPlaneStatus></ct:dataPlaneStateChange>",
        ),
        "00100 ": b"<not-xml",
    }
    async with httpx.AsyncClient() as http:
        for expected, payload in cases.items():
            answer = await http.post(
                setup.requester_url, content=payload, headers={"Content-Type": "text/xml"}
            )
            assert answer.status_code == 500
            nsi_schemas.check(answer.content)
            error_id = etree.fromstring(answer.content).findtext(".//errorId")
            assert error_id == expected.strip(), (expected, answer.text)
    after = await client.connections.get(done.connection.name)
    assert after == before
