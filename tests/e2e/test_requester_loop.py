"""The orchestrator API reserving at this domain's own provider, as an NSI requester.

One gateway process: nsgw.v1.Connections -> the requester's SOAP client ->
our SOAP provider endpoint -> a gRPC provider double -> the ConnectionRequester
service -> the outbox -> SOAP callbacks to our requester endpoint.  All of it
over real HTTP and gRPC on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from gateway.assembly import build_components
from gateway.client import ApiCallError, NsgwClient
from gateway.config import Settings
from gateway.process import Gateway
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as res_pb2
from nsgw_proto.nsgw.v1 import operations_pb2 as ops_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from tests.e2e.nsi_provider_double import NsiProviderDouble
from tests.helpers import free_port

SOURCE = "urn:ogf:network:example.net:2025:topology:port-1?vlan=100-110"
DEST = "urn:ogf:network:example.net:2025:topology:port-2?vlan=100-110"


@dataclass
class Loop:
    client: NsgwClient
    double: NsiProviderDouble
    gateway: Gateway


@pytest.fixture
async def loop(tmp_path: Path) -> AsyncIterator[Loop]:
    double = NsiProviderDouble()
    server = grpc.aio.server()
    provider_grpc.add_ConnectionProviderServicer_to_server(double, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    settings = Settings(
        state_dir=tmp_path,
        grpc_port=0,
        http_port=0,
        nso_sim_port=free_port(),
        soap_provider_target=f"127.0.0.1:{port}",
        requester_confirm_timeout=10,
    )
    gateway = Gateway(settings, build_components(settings))
    await gateway.start()
    assert gateway.grpc is not None
    double.requester_target = f"127.0.0.1:{gateway.grpc.port}"
    client = NsgwClient(f"127.0.0.1:{gateway.grpc.port}")
    try:
        yield Loop(client, double, gateway)
    finally:
        await client.close()
        await gateway.stop()
        await double.stop()
        await server.stop(None)


async def test_create_watch_active_then_terminate(loop: Loop) -> None:
    client = loop.client.connections
    op = await client.create(SOURCE, DEST, 100, description="e2e", request_id="c-1")
    done = await loop.client.operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    connection = done.connection
    assert connection.name.startswith("connections/")
    assert connection.connection_id in loop.double.reservations
    assert connection.nsi_states.reservation_state == "ReserveStart"
    assert connection.nsi_states.provision_state == "Provisioned"
    messages = [p.message for p in done.progress]
    assert any(m.startswith("reserveConfirmed") for m in messages), messages
    assert any(m.startswith("provisionConfirmed") for m in messages), messages

    states = []
    async for event in client.watch(connection.name):
        states.append(event.connection.state)
        if event.connection.state == res_pb2.CONNECTION_STATE_ACTIVE:
            break
    assert states[-1] == res_pb2.CONNECTION_STATE_ACTIVE

    again = await client.create(SOURCE, DEST, 100, description="e2e", request_id="c-1")
    assert again.name == op.name  # a retried request_id starts nothing new

    ended = await loop.client.operations.wait((await client.terminate(connection.name)).name)
    assert ended.state == ops_pb2.OPERATION_STATE_SUCCEEDED, ended.error
    assert ended.connection.state == res_pb2.CONNECTION_STATE_TERMINATED
    listed = await client.list(states=[res_pb2.CONNECTION_STATE_TERMINATED])
    assert [c.name for c in listed.connections] == [connection.name]


async def test_a_refused_reserve_fails_the_operation_with_the_providers_error(loop: Loop) -> None:
    client = loop.client.connections
    op = await client.create(SOURCE, DEST, 100, reserve_only=True)
    done = await loop.client.operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED
    name = done.connection.name
    assert done.connection.state == res_pb2.CONNECTION_STATE_RESERVING
    # The double refuses a modify of a connection it does not know; ours knows it,
    # so make the provider forget it.
    loop.double.reservations.clear()
    failed = await loop.client.operations.wait((await client.provision(name)).name)
    assert failed.state == ops_pb2.OPERATION_STATE_FAILED
    assert failed.error.reason == "PROVIDER_REFUSED"
    assert failed.error.metadata["nsi_error_id"] == "00203"


async def test_bad_requests_are_refused_with_details(loop: Loop) -> None:
    client = loop.client.connections
    with pytest.raises(ApiCallError) as caught:
        await client.create("port-1", DEST, 0)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {field for field, _ in caught.value.field_violations}
    assert fields == {"source_stp", "capacity_mbps"}
    with pytest.raises(ApiCallError) as caught:
        await client.create(SOURCE, DEST, 10, provider_nsa="urn:ogf:network:nowhere:nsa")
    assert caught.value.field_violations[0][0] == "provider_nsa"
    with pytest.raises(ApiCallError) as caught:
        await client.get("connections/0123abcd")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert caught.value.reason == "CONNECTION_NOT_FOUND"
    await client.create(SOURCE, DEST, 10, request_id="same")
    with pytest.raises(ApiCallError) as caught:
        await client.create(SOURCE, DEST, 20, request_id="same")
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS
