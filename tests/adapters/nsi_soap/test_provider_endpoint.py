"""The provider endpoint over real HTTP, calling a recording ConnectionProvider over real gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from aiohttp import web
from lxml import etree

from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.namespaces import (
    CONNECTION_TYPES,
    PROVIDER_OPERATIONS,
    SOAP_ENV,
    qname,
    soap_action,
)
from adapters.nsi_soap.provider_endpoint import EndpointConfig, ProviderEndpoint, add_route
from adapters.nsi_soap.provider_messages import GRPC_METHODS, build_provider_request
from adapters.nsi_soap.provider_target import GrpcProvider
from adapters.nsi_soap.requester_service import RequestMemory
from adapters.nsi_soap.security import PeerPolicy
from adapters.nsi_soap.xmlparse import XmlLimits
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.provider_double import RecordingProvider, serve_provider
from tests.adapters.nsi_soap.requests import provider_requests
from tests.adapters.nsi_soap.schemas import NsiSchemas
from tests.adapters.nsi_soap.servers import serve_app
from tests.adapters.nsi_soap.test_xmlparse import BILLION_LAUGHS, XXE

PROVIDER_NSA = "urn:ogf:network:example.net:2025:nsa"


@dataclass
class Proxy:
    url: str
    provider: RecordingProvider
    memory: RequestMemory

    async def post(self, data: bytes, action: str | None = None, **headers: str) -> httpx.Response:
        sent = {"Content-Type": "text/xml; charset=utf-8", **headers}
        if action is not None:
            sent["SOAPAction"] = action
        async with httpx.AsyncClient() as client:
            return await client.post(self.url, content=data, headers=sent)


def build_endpoint(
    target: str, memory: RequestMemory, policy: PeerPolicy | None = None, **config: Any
) -> tuple[web.Application, Callable[[], Any]]:
    channel = grpc.aio.insecure_channel(target)
    stub = provider_grpc.ConnectionProviderStub(channel)
    endpoint = ProviderEndpoint(
        GrpcProvider(lambda: stub),
        EndpointConfig(provider_nsa=PROVIDER_NSA, **config),
        policy or PeerPolicy(),
        memory,
    )
    app = web.Application()
    add_route(app, "/nsi/v2/provider", endpoint)
    return app, lambda: channel.close(None)


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    provider = RecordingProvider()
    memory = RequestMemory()
    async with serve_provider(provider) as target:
        app, close = build_endpoint(
            target, memory, deadline=2.0, limits=XmlLimits(max_bytes=64 * 1024)
        )
        async with serve_app(app) as base:
            yield Proxy(f"{base}/nsi/v2/provider", provider, memory)
        await close()


def fault_of(response: httpx.Response, schemas: NsiSchemas) -> etree._Element:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/xml")
    root = schemas.check(response.content)
    exception = root.find(f".//{qname(SOAP_ENV, 'Fault')}/detail//serviceException")
    if exception is None:
        exception = root.find(
            f".//{qname(SOAP_ENV, 'Fault')}/detail/{qname(CONNECTION_TYPES, 'serviceException')}"
        )
    assert exception is not None
    return exception


def normalised(request: Any) -> Any:
    copy = type(request)()
    copy.CopyFrom(request)
    copy.header.session_security_attributes = ""
    return copy


@pytest.mark.parametrize("operation", PROVIDER_OPERATIONS)
async def test_operation_reaches_the_provider_field_by_field(
    operation: str, proxy: Proxy, nsi_schemas: NsiSchemas
) -> None:
    request = provider_requests()[operation]
    data = build_provider_request(operation, request, HeaderExtras([samples.CONNECTION_TRACE]))
    nsi_schemas.check(data)
    response = await proxy.post(data, soap_action(operation))
    assert response.status_code == 200, response.text
    root = nsi_schemas.check(response.content)
    method, received = proxy.provider.calls[-1]
    assert method == GRPC_METHODS[operation]
    assert normalised(received) == normalised(request)
    assert received.header.session_security_attributes  # carried verbatim
    body = root.find(qname(SOAP_ENV, "Body"))
    assert body is not None
    replied = etree.QName(body[0]).localname
    if operation == "reserve":
        assert replied == "reserveResponse"
        assert body[0].findtext("connectionId") == "conn-1"
    elif operation.endswith("Sync"):
        assert replied == f"{operation}Confirmed"
    else:
        assert replied == "acknowledgment"
    assert root.findtext(".//correlationId") == request.header.correlation_id
    # the extensions the request carried are remembered for its callbacks
    remembered = proxy.memory.recall(request.header.correlation_id)
    assert remembered is not None
    assert remembered.reply_to == request.header.reply_to
    assert len(remembered.extras.extensions) == 1


async def test_refusal_in_the_ack_becomes_a_fault(proxy: Proxy, nsi_schemas: NsiSchemas) -> None:
    proxy.provider.refusal = common_pb2.ServiceException(
        error_id="00201", text="INVALID_TRANSITION: Connection state machine is in invalid state"
    )
    request = provider_requests()["provision"]
    response = await proxy.post(build_provider_request("provision", request))
    exception = fault_of(response, nsi_schemas)
    assert exception.findtext("errorId") == "00201"
    assert exception.findtext("nsaId") == PROVIDER_NSA


async def test_provider_too_slow_is_a_00500_fault(nsi_schemas: NsiSchemas) -> None:
    provider = RecordingProvider(delay=1.0)
    async with serve_provider(provider) as target:
        app, close = build_endpoint(target, RequestMemory(), deadline=0.1)
        async with serve_app(app) as base:
            request = provider_requests()["terminate"]
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{base}/nsi/v2/provider", content=build_provider_request("terminate", request)
                )
        await close()
    exception = fault_of(response, nsi_schemas)
    assert exception.findtext("errorId") == "00500"
    assert "within 0.1s" in (exception.findtext("text") or "")


async def test_provider_down_is_a_00500_fault(nsi_schemas: NsiSchemas) -> None:
    app, close = build_endpoint("127.0.0.1:1", RequestMemory(), deadline=1.0)
    async with serve_app(app) as base, httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/nsi/v2/provider",
            content=build_provider_request("terminate", provider_requests()["terminate"]),
        )
    await close()
    exception = fault_of(response, nsi_schemas)
    assert exception.findtext("errorId") == "00500"
    assert "UNAVAILABLE" in (exception.findtext("text") or "")


# --- bad input: precise fault, nothing forwarded, process unharmed ------------------------

GOOD = build_provider_request("terminate", provider_requests()["terminate"])


def _replace(old: bytes, new: bytes) -> bytes:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD_INPUTS: dict[str, tuple[bytes, str | None, str, str]] = {
    # name: (payload, SOAPAction, errorId, text fragment)
    "malformed XML": (GOOD[:-30], None, "00100", "malformed XML"),
    "wrong envelope namespace": (
        GOOD.replace(SOAP_ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope"),
        None,
        "00100",
        "not a SOAP 1.1 Envelope",
    ),
    "wrong body namespace": (
        _replace(f'xmlns:ctypes="{CONNECTION_TYPES}"'.encode(), b'xmlns:ctypes="urn:other"'),
        None,
        "00100",
        "is not http://schemas.ogf.org/nsi/2013/12/connection/types",
    ),
    "missing nsiHeader": (
        GOOD[: GOOD.index(b"<soapenv:Header>")] + GOOD[GOOD.index(b"<soapenv:Body>") :],
        None,
        "00101",
        "Header/nsiHeader",
    ),
    "SOAPAction not matching the body": (
        GOOD,
        soap_action("provision"),
        "00100",
        "does not match the body element terminate",
    ),
    "unknown operation": (
        _replace(b"ctypes:terminate", b"ctypes:selfDestruct"),
        None,
        "00100",
        "Body/selfDestruct",
    ),
    "callback sent to the provider": (
        _replace(b"ctypes:terminate", b"ctypes:terminateConfirmed"),
        None,
        "00100",
        "not an NSI provider operation",
    ),
    "missing connectionId": (
        _replace(b"<connectionId>conn-1</connectionId>", b""),
        None,
        "00101",
        "terminate/connectionId",
    ),
    "wrong protocolVersion": (
        GOOD.replace(b"cs.v2.provider+soap", b"cs.v9.provider+soap"),
        None,
        "00104",
        "protocolVersion",
    ),
    "oversize body": (
        _replace(b"<connectionId>conn-1", b"<connectionId>" + b"x" * 70_000),
        None,
        "00100",
        "larger than 65536 bytes",
    ),
    "entity expansion (billion laughs)": (BILLION_LAUGHS, None, "00100", "document type"),
    "external entity (XXE)": (XXE, None, "00100", "document type"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_is_a_precise_fault(
    case: str, proxy: Proxy, nsi_schemas: NsiSchemas
) -> None:
    payload, action, error_id, fragment = BAD_INPUTS[case]
    response = await proxy.post(payload, action)
    exception = fault_of(response, nsi_schemas)
    assert exception.findtext("errorId") == error_id
    assert fragment in (exception.findtext("text") or "")
    assert proxy.provider.calls == []  # nothing forwarded
    # and the process is unharmed: the next good request goes through
    good = await proxy.post(GOOD, soap_action("terminate"))
    assert good.status_code == 200
    assert [method for method, _ in proxy.provider.calls] == ["Terminate"]


async def test_many_hostile_requests_at_once_leave_it_working(proxy: Proxy) -> None:
    responses = await asyncio.gather(*(proxy.post(BILLION_LAUGHS) for _ in range(20)))
    assert {response.status_code for response in responses} == {500}
    assert (await proxy.post(GOOD)).status_code == 200


async def test_oversize_body_without_content_length_is_refused(
    proxy: Proxy, nsi_schemas: NsiSchemas
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 10_000  # chunked transfer: the size is only known while reading

    async with httpx.AsyncClient() as client:
        response = await client.post(proxy.url, content=chunks())
    exception = fault_of(response, nsi_schemas)
    assert exception.findtext("errorId") == "00100"
    assert "larger than 65536 bytes" in (exception.findtext("text") or "")
    assert proxy.provider.calls == []


async def test_chunked_request_within_the_limit_goes_through(proxy: Proxy) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield GOOD[:100]
        yield GOOD[100:]

    async with httpx.AsyncClient() as client:
        response = await client.post(proxy.url, content=chunks())
    assert response.status_code == 200
    assert [method for method, _ in proxy.provider.calls] == ["Terminate"]
