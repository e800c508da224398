"""The requester's SOAP client against a real HTTP provider stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from lxml import etree

from adapters.nsi_soap.faults import build_fault
from adapters.nsi_soap.header import CORRELATION_ID
from adapters.nsi_soap.provider_messages import (
    build_acknowledgment,
    build_reserve_response,
    build_sync_reply,
)
from adapters.nsi_soap.requester_client import (
    BadReplyError,
    PeerEndpoint,
    ProviderFault,
    ProviderUnreachableError,
    RequesterClient,
)
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.requests import provider_requests
from tests.adapters.nsi_soap.schemas import NsiSchemas
from tests.adapters.nsi_soap.servers import serve_app

HEADERS = "{http://schemas.ogf.org/nsi/2013/12/framework/headers}nsiHeader"
US, THEM = "urn:ogf:network:us:nsa", "urn:ogf:network:them:nsa"


@dataclass
class Provider:
    """Answers as told; records (SOAPAction, body) of every request."""

    schemas: NsiSchemas
    received: list[tuple[str, bytes]] = field(default_factory=list)
    failures_first: int = 0
    fault: common_pb2.ServiceException | None = None
    wrong_reply: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.headers.get("SOAPAction", ""), body))
        self.schemas.check(body)
        if self.failures_first:
            self.failures_first -= 1
            return web.Response(status=503, text="busy")
        root = etree.fromstring(body)
        operation = etree.QName(root[1][0]).localname
        header = common_pb2.Header(
            correlation_id=root.findtext(f".//{HEADERS}/correlationId") or "",
            requester_nsa=US,
            provider_nsa=THEM,
        )
        if self.fault is not None:
            data = build_fault(self.fault, sync=operation.endswith("Sync"))
            return web.Response(body=data, status=500, content_type="text/xml")
        if self.wrong_reply or operation != "reserve":
            data = build_acknowledgment(header)
        else:
            data = build_reserve_response(header, "conn-7")
        if operation.endswith("Sync"):
            body_name = operation.removesuffix("Sync") + "Confirmed"
            data = build_sync_reply(operation, header, samples.callbacks()[body_name])
        return web.Response(body=data, content_type="text/xml")


@pytest.fixture
async def provider(nsi_schemas: NsiSchemas) -> AsyncIterator[tuple[Provider, str]]:
    made = Provider(nsi_schemas)
    app = web.Application()
    app.router.add_post("/provider", made.handle)
    async with serve_app(app) as base:
        yield made, f"{base}/provider"


@pytest.fixture
async def client() -> AsyncIterator[RequesterClient]:
    async with httpx.AsyncClient() as http:
        yield RequesterClient(US, "http://127.0.0.1:1/requester", http)


def peer(url: str, retries: int = 2) -> PeerEndpoint:
    return PeerEndpoint(THEM, url, timeout=5, retries=retries, retry_delay=0.01)


def header_of(body: bytes) -> etree._Element:
    found = etree.fromstring(body).find(f".//{HEADERS}")
    assert found is not None
    return found


async def test_every_provider_operation_is_sent_valid_with_a_correct_header(
    provider: tuple[Provider, str], client: RequesterClient
) -> None:
    double, url = provider
    for operation, request in provider_requests().items():
        reply = await client.call(peer(url), operation, request)
        assert reply.operation == operation
    assert len(double.received) == 13
    ids = set()
    for action, body in double.received:
        header = header_of(body)
        operation = etree.QName(etree.fromstring(body)[1][0]).localname
        assert action == f'"http://schemas.ogf.org/nsi/2013/12/connection/service/{operation}"'
        assert header.findtext("protocolVersion") == "application/vnd.ogf.nsi.cs.v2.provider+soap"
        assert header.findtext("requesterNSA") == US
        assert header.findtext("providerNSA") == THEM
        correlation_id = header.findtext("correlationId") or ""
        assert CORRELATION_ID.fullmatch(correlation_id)
        ids.add(correlation_id)
        expected_reply_to = None if operation.endswith("Sync") else "http://127.0.0.1:1/requester"
        assert header.findtext("replyTo") == expected_reply_to
    assert len(ids) == 13  # a fresh correlationId per request


async def test_reserve_gives_the_connection_id_and_sync_gives_the_body(
    provider: tuple[Provider, str], client: RequesterClient
) -> None:
    _, url = provider
    reply = await client.call(peer(url), "reserve", samples.reserve_request())
    assert reply.connection_id == "conn-7"
    summary = await client.call(peer(url), "querySummarySync", provider_pb2.QueryRequest())
    assert isinstance(summary.body, requester_pb2.QueryConfirmedRequest)
    assert summary.body.reservation[0].connection_id


async def test_a_lost_request_is_resent_with_the_same_correlation_id(
    provider: tuple[Provider, str], client: RequesterClient
) -> None:
    double, url = provider
    double.failures_first = 2
    reply = await client.call(
        peer(url), "provision", provider_pb2.GenericRequest(connection_id="c")
    )
    assert reply.operation == "provision"
    assert len(double.received) == 3
    assert len({body for _, body in double.received}) == 1  # byte for byte, same correlationId


async def test_no_answer_after_the_retries_is_unreachable(
    provider: tuple[Provider, str], client: RequesterClient
) -> None:
    double, url = provider
    double.failures_first = 5
    with pytest.raises(ProviderUnreachableError, match="HTTP 503"):
        await client.call(
            peer(url, retries=1), "terminate", provider_pb2.GenericRequest(connection_id="c")
        )
    assert len(double.received) == 2
    with pytest.raises(ProviderUnreachableError, match="ConnectError"):
        await client.call(
            peer("http://127.0.0.1:9/nsi", retries=0),
            "querySummarySync",
            provider_pb2.QueryRequest(),
        )


@pytest.mark.parametrize("operation", ["reserveCommit", "queryResultSync"])
async def test_a_fault_is_a_typed_error_with_the_peers_service_exception(
    provider: tuple[Provider, str], client: RequesterClient, operation: str
) -> None:
    double, url = provider
    double.fault = samples.service_exception()
    request = (
        provider_pb2.QueryResultRequest(connection_id="c")
        if operation.endswith("Sync")
        else provider_pb2.GenericRequest(connection_id="c")
    )
    with pytest.raises(ProviderFault) as caught:
        await client.call(peer(url), operation, request)
    assert caught.value.exception == samples.service_exception()
    assert caught.value.error_id == samples.service_exception().error_id
    assert len(double.received) == 1  # a refusal is not re-sent


async def test_a_reply_of_the_wrong_kind_is_refused(
    provider: tuple[Provider, str], client: RequesterClient
) -> None:
    double, url = provider
    double.wrong_reply = True
    with pytest.raises(BadReplyError, match="not reserveResponse"):
        await client.call(peer(url), "reserve", samples.reserve_request())


def test_only_provider_operations_can_be_prepared(client: RequesterClient) -> None:
    with pytest.raises(ValueError, match="not an NSI provider operation"):
        client.prepare(
            peer("http://127.0.0.1:9"), "reserveConfirmed", provider_pb2.GenericRequest()
        )
