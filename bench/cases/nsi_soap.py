"""NSI SOAP reserve -> reserveResponse through the proxy (``nsgw serve``) to a gRPC provider.

Measured: 32 concurrent requesters POST a reserve (full p2ps, pathTrace) over
HTTP to ``nsgw serve``, which parses it, calls the ConnectionProvider (a
double in this process) over gRPC and answers reserveResponse.
Floor, in the same run: the same work without the proxy around it, i.e. lxml
parse of the same reserve envelope, build and serialize of the same
reserveResponse, and a bare gRPC unary call to the same provider double.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import grpc
from lxml import etree

from adapters.nsi_soap.namespaces import CONTENT_TYPE, soap_action
from adapters.nsi_soap.provider_messages import build_provider_request, build_reserve_response
from bench.harness import Measurement, Result, measure
from bench.servers import nsgw_serve
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import policy_pb2, services_pb2

CONCURRENCY = 32


class ReserveOnlyProvider(provider_grpc.ConnectionProviderServicer):
    """Answers every Reserve at once, as a provider agent acknowledges."""

    async def Reserve(self, request: Any, context: Any) -> Any:
        return provider_pb2.ReserveResponse(header=request.header, connection_id=str(uuid.uuid4()))


@asynccontextmanager
async def provider_double() -> AsyncIterator[int]:
    server = grpc.aio.server()
    # only Reserve is measured; the other methods answer UNIMPLEMENTED
    servicer = ReserveOnlyProvider()  # type: ignore[abstract]
    provider_grpc.add_ConnectionProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


def reserve_request() -> provider_pb2.ReserveRequest:
    header = common_pb2.Header(
        protocol_version="application/vnd.ogf.nsi.cs.v2.provider+soap",
        correlation_id=f"urn:uuid:{uuid.uuid4()}",
        requester_nsa="urn:ogf:network:peer.example.org:2025:nsa",
        provider_nsa="urn:ogf:network:example.net:2025:nsa",
        reply_to="http://127.0.0.1:9/requester",
        path_trace=policy_pb2.PathTrace(
            id="urn:ogf:network:peer.example.org:2025:nsa",
            connection_id="agg-1",
            paths=[
                policy_pb2.Path(
                    segments=[
                        policy_pb2.Segment(
                            id="urn:ogf:network:example.net:2025:nsa",
                            connection_id="seg-1",
                            stps=["urn:ogf:network:example.net:2025:topology:port-1"],
                        )
                    ]
                )
            ],
        ),
    )
    criteria = provider_pb2.ReservationRequestCriteria(
        version=1,
        service_type="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
        ptps=services_pb2.PointToPointService(
            capacity=1000,
            source_stp="urn:ogf:network:example.net:2025:topology:port-1?vlan=100-199",
            dest_stp="urn:ogf:network:example.net:2025:topology:port-2?vlan=200",
            eros=["urn:ogf:network:example.net:2025:topology:core-1"],
            parameters={"mtu": "9000"},
        ),
    )
    criteria.schedule.end_time.GetCurrentTime()
    return provider_pb2.ReserveRequest(header=header, description="bench", criteria=criteria)


async def _through_proxy(http_port: int, payload: bytes, count: int) -> Measurement:
    url = f"http://127.0.0.1:{http_port}/nsi/v2/provider"
    headers = {"Content-Type": CONTENT_TYPE, "SOAPAction": soap_action("reserve")}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> None:
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
                if response.status != 200 or b"reserveResponse" not in body:
                    raise RuntimeError(f"proxy answered {response.status}: {body[:200]!r}")

        return await measure("SOAP via nsgw", call, count=count, concurrency=CONCURRENCY)


async def _floor(grpc_port: int, payload: bytes, count: int) -> Measurement:
    request = reserve_request()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = provider_grpc.ConnectionProviderStub(channel)

        async def call() -> None:
            etree.fromstring(payload)
            reply = await stub.Reserve(request)
            build_reserve_response(request.header, reply.connection_id)

        return await measure("lxml + bare gRPC", call, count=count, concurrency=CONCURRENCY)


async def run(quick: bool) -> list[Result]:
    count = 1000 if quick else 8000
    payload = build_provider_request("reserve", reserve_request())
    async with provider_double() as grpc_port:
        env = {"NSGW_SOAP_PROVIDER_TARGET": f"127.0.0.1:{grpc_port}"}
        async with nsgw_serve(env) as ports:
            floor = await _floor(grpc_port, payload, count)
            mine = await _through_proxy(ports["http"], payload, count)
    return [
        Result(
            f"SOAP reserve -> reserveResponse, {CONCURRENCY} requesters",
            mine,
            floor,
            metric="throughput",
            goal=2.0,
            note="floor: lxml parse + build of the same envelopes and a bare gRPC unary call",
        ),
        Result(
            f"SOAP reserve -> reserveResponse p50, {CONCURRENCY} requesters",
            mine,
            floor,
            metric="p50",
            goal=2.0,
        ),
    ]
