"""The process as assembled: the SOAP proxy and the agent joined in one process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from adapters.nsi_soap.namespaces import soap_action
from adapters.nsi_soap.provider_messages import build_provider_request
from adapters.nsi_soap.provider_target import GrpcProvider
from bench.cases.nsi_agent import NET, NSA, TOPOLOGY
from bench.servers import free_port
from gateway.agent.component import AgentComponent
from gateway.agent.in_process import InProcessProvider
from gateway.assembly import IN_PROCESS, build_components
from gateway.config import Settings
from gateway.nsi_proxy import NsiSoapProxy
from gateway.process import Gateway
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import services_pb2
from tests.adapters.nsi_soap.servers import SoapSink, serve_app


def component(gateway: Gateway, kind: type[Any]) -> Any:
    return next(c for c in gateway.components if isinstance(c, kind))


def test_the_proxy_and_the_agent_call_each_other_directly_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    joined = Gateway(Settings(state_dir=tmp_path), build_components(Settings(state_dir=tmp_path)))
    proxy, agent = component(joined, NsiSoapProxy), component(joined, AgentComponent)
    assert isinstance(proxy.endpoint.provider, InProcessProvider)
    assert agent.service.config.requester_target == IN_PROCESS

    apart = Settings(
        state_dir=tmp_path,
        soap_provider_target="127.0.0.1:50061",
        agent_requester_target="127.0.0.1:50062",
    )
    separate = Gateway(apart, build_components(apart))
    proxy, agent = component(separate, NsiSoapProxy), component(separate, AgentComponent)
    assert isinstance(proxy.endpoint.provider, GrpcProvider)
    agent.on_grpc_bound(50051)
    assert agent.service.config.requester_target == "127.0.0.1:50062"


@dataclass
class Peer:
    """A peer domain's requester: SOAP requests to the proxy, callbacks to ``reply_to``."""

    url: str
    reply_to: str
    client: httpx.AsyncClient

    async def post(self, operation: str, request: Any) -> etree._Element:
        response = await self.client.post(
            self.url,
            content=build_provider_request(operation, request),
            headers={"SOAPAction": soap_action(operation)},
        )
        assert response.status_code == 200, response.text
        body = etree.fromstring(response.content).find("{*}Body")
        assert body is not None
        return body[0]

    def header(self) -> common_pb2.Header:
        return common_pb2.Header(
            protocol_version="application/vnd.ogf.nsi.cs.v2.provider+soap",
            correlation_id=f"urn:uuid:{uuid.uuid4()}",
            requester_nsa="urn:ogf:network:peer.example.org:2025:nsa",
            provider_nsa=NSA,
            reply_to=self.reply_to,
        )

    async def reserve(self, minute: int) -> str:
        start = datetime.now(UTC) + timedelta(days=1, minutes=minute)
        criteria = provider_pb2.ReservationRequestCriteria(
            version=1,
            ptps=services_pb2.PointToPointService(
                capacity=100,
                source_stp=f"urn:ogf:network:{NET}:port-1",
                dest_stp=f"urn:ogf:network:{NET}:port-2",
            ),
        )
        criteria.schedule.start_time.FromDatetime(start)
        criteria.schedule.end_time.FromDatetime(start + timedelta(seconds=30))
        reply = await self.post(
            "reserve", provider_pb2.ReserveRequest(header=self.header(), criteria=criteria)
        )
        return str(reply.findtext("connectionId"))

    async def commit(self, connection_id: str) -> None:
        request = provider_pb2.GenericRequest(header=self.header(), connection_id=connection_id)
        await self.post("reserveCommit", request)

    async def metrics(self) -> str:
        base = self.url.removesuffix("/nsi/v2/provider")
        return (await self.client.get(f"{base}/metrics/nsi-soap")).text


@pytest.fixture
async def nsgw(tmp_path: Path) -> AsyncIterator[tuple[Gateway, int]]:
    """nsgw as ``nsgw serve`` assembles it, with a requester endpoint port reserved."""
    topology = tmp_path / "topology.toml"
    topology.write_text(TOPOLOGY)
    settings = Settings(
        state_dir=tmp_path,
        grpc_port=0,
        http_port=0,
        nso_sim_port=free_port(),
        nsa_id=NSA,
        network_id=NET,
        agent_topology_file=topology,
        soap_callback_timeout=2.0,
        callback_give_up_after=3.0,
    )
    gateway = Gateway(settings, build_components(settings))
    await gateway.start()
    try:
        yield gateway, free_port()
    finally:
        await gateway.stop()


async def test_callbacks_wait_for_a_peer_that_is_down_then_arrive_in_order_once(
    nsgw: tuple[Gateway, int],
) -> None:
    gateway, port = nsgw
    url = f"http://127.0.0.1:{gateway.http.port}/nsi/v2/provider"
    async with httpx.AsyncClient() as client:
        peer = Peer(url, f"http://127.0.0.1:{port}/requester", client)
        connections = [await peer.reserve(minute) for minute in range(3)]
        for connection_id in connections:
            await peer.commit(connection_id)
        # nobody listens: the agent's outbox keeps the callbacks, the proxy counts them
        async with asyncio.timeout(5):
            while 'nsgw_nsi_soap_callbacks{state="pending"} 6' not in await peer.metrics():
                await asyncio.sleep(0.05)
        sink = SoapSink()
        async with serve_app(sink.app(), port=port):
            await sink.wait_for(6)
            await asyncio.sleep(0.3)  # nothing more may arrive
        metrics = await peer.metrics()
    arrived = []
    for action, body in sink.received:
        message = etree.fromstring(body).find("{*}Body")
        assert message is not None
        arrived.append((message[0].findtext("connectionId"), action))
    assert len(arrived) == 6
    for connection_id in connections:
        assert [action for cid, action in arrived if cid == connection_id] == [
            soap_action("reserveConfirmed"),
            soap_action("reserveCommitConfirmed"),
        ]
    assert 'nsgw_nsi_soap_callbacks{state="pending"} 0' in metrics


async def test_a_peer_that_refuses_callbacks_is_counted_undeliverable(
    nsgw: tuple[Gateway, int],
) -> None:
    gateway, port = nsgw
    proxy = component(gateway, NsiSoapProxy)
    sink = SoapSink(status=404)
    async with serve_app(sink.app(), port=port), httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{gateway.http.port}/nsi/v2/provider"
        peer = Peer(url, f"http://127.0.0.1:{port}/requester", client)
        await peer.reserve(0)
        # the reserveConfirmed is refused, then the messageDeliveryTimeout about it
        async with asyncio.timeout(5):
            while "nsgw_nsi_soap_callbacks_undeliverable 2" not in await peer.metrics():
                await asyncio.sleep(0.05)
    assert proxy.given_up == 2
