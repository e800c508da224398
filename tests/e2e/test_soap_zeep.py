"""An independent NSI requester (zeep, from the official WSDL) drives the SOAP proxy.

Over real HTTP and gRPC: zeep -> SOAP -> nsgw (proxy) -> provider, and provider
-> ConnectionRequester -> outbox -> SOAP callback -> a test requester endpoint.
Every message on the wire is checked against the XSDs.

The provider side is the ``provider_side`` fixture:

- ``agent``: our provider agent in the same ``nsgw`` process (null backend, a
  topology file), called directly, as ``nsgw serve`` runs by default;
- ``agent-grpc``: the same agent, but the proxy and the agent are told each
  other's gRPC address, as they are when either half is a deployed one;
- ``double``: for what the real agent never produces (a confirmation echoing a
  nil start time as sent), a provider double over gRPC.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import zeep
from aiohttp import web
from lxml import etree
from zeep.exceptions import Fault

from bench.servers import free_port
from gateway.assembly import build_components
from gateway.config import Settings
from gateway.process import Gateway
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from tests.adapters.nsi_soap.schemas import NsiSchemas, schema_directory
from tests.adapters.nsi_soap.servers import ACK, serve_app
from tests.e2e.nsi_provider_double import NsiProviderDouble

HEADERS = "http://schemas.ogf.org/nsi/2013/12/framework/headers"
TYPES = "http://schemas.ogf.org/nsi/2013/12/connection/types"
P2P = "http://schemas.ogf.org/nsi/2013/12/services/point2point"
REQUESTER_NSA = "urn:ogf:network:peer.example.org:2025:nsa"
PROVIDER_NSA = "urn:ogf:network:example.net:2025:nsa"

pytestmark = pytest.mark.timeout(60)


@dataclass
class Callback:
    operation: str
    correlation_id: str
    root: etree._Element


@dataclass
class RequesterEndpoint:
    """The test requester's SOAP endpoint: validates and keeps every callback."""

    schemas: NsiSchemas
    received: list[Callback] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    invalid: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        data = await request.read()
        try:
            root = self.schemas.check(data)
        except AssertionError as exc:
            self.invalid.append(str(exc))
            raise
        body = root.find("{*}Body")
        assert body is not None
        operation = etree.QName(body[0]).localname
        assert request.headers["SOAPAction"].strip('"').endswith("/" + operation)
        callback = Callback(operation, root.findtext(".//correlationId", ""), root)
        async with self.changed:
            self.received.append(callback)
            self.changed.notify_all()
        return web.Response(body=ACK, content_type="text/xml")

    async def wait(self, correlation_id: str, *operations: str) -> list[Callback]:
        def arrived() -> list[Callback]:
            return [c for c in self.received if c.correlation_id == correlation_id]

        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: len(arrived()) >= len(operations)), 15
            )
        got = arrived()
        assert [c.operation for c in got] == list(operations)
        return got

    async def change(self, connection_id: str, active: bool) -> Callback:
        """The dataPlaneStateChange of a connection (a notification: own correlationId)."""

        def arrived() -> list[Callback]:
            return [
                c
                for c in self.received
                if c.operation == "dataPlaneStateChange"
                and body(c).findtext("connectionId") == connection_id
                and body(c).findtext("dataPlaneStatus/active") == str(active).lower()
            ]

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(arrived), 15)
        return arrived()[0]

    async def data_plane_change(
        self, stack_provider: str, correlation_id: str, confirmed: str, connection_id: str
    ) -> Callback:
        """The confirmation of a provision/release, then the data plane's change.

        The double sends the change with the request's correlationId; our agent
        sends it as a notification of its own.
        """
        if stack_provider == "double":
            _, change = await self.wait(correlation_id, confirmed, "dataPlaneStateChange")
            return change
        await self.wait(correlation_id, confirmed)
        return await self.change(connection_id, confirmed == "provisionConfirmed")


@dataclass
class ProviderSide:
    """Where the proxy sends ConnectionProvider calls, and how it learns our gRPC port.

    ``agent``: our provider agent in the gateway (empty target: this process);
    ``double``: a provider double over gRPC.
    """

    kind: str
    target: str
    connect: Callable[[str], None]
    settings: dict[str, Any] = field(default_factory=dict)


TOPOLOGY = """
[[stp]]
id = "port-1"
port = "Gi0/0/0/1"
vlans = "100-199"
capacity = 10000

[[stp]]
id = "port-2"
port = "Gi0/0/0/2"
vlans = "200-299"
capacity = 10000
"""


@pytest.fixture(params=["agent", "agent-grpc", "double"])
async def provider_side(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ProviderSide]:
    if request.param.startswith("agent"):
        topology = tmp_path / "topology.toml"
        topology.write_text(TOPOLOGY)
        # the requests ask VLANs 100-199 at one end and 200 at the other
        settings: dict[str, Any] = {
            "nsa_id": PROVIDER_NSA,
            "agent_topology_file": topology,
            "label_swapping": True,
        }
        target = ""
        if request.param == "agent-grpc":
            port = free_port()
            target = f"127.0.0.1:{port}"
            settings.update(grpc_port=port, agent_requester_target=target)
        yield ProviderSide("agent", target, lambda _target: None, settings)
        return
    double = NsiProviderDouble()
    server = grpc.aio.server()
    provider_grpc.add_ConnectionProviderServicer_to_server(double, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()

    def connect(requester_target: str) -> None:
        double.requester_target = requester_target

    yield ProviderSide("double", f"127.0.0.1:{port}", connect)
    await double.stop()
    await server.stop(None)


@dataclass
class Stack:
    provider_url: str
    reply_to: str
    inbox: RequesterEndpoint
    provider: str  # agent | double


@pytest.fixture
async def stack(
    provider_side: ProviderSide, nsi_schemas: NsiSchemas, tmp_path: Path
) -> AsyncIterator[Stack]:
    inbox = RequesterEndpoint(nsi_schemas)
    app = web.Application()
    app.router.add_post("/requester", inbox.handle)
    async with serve_app(app) as requester_base:
        settings = Settings(
            state_dir=tmp_path,
            http_port=0,
            soap_provider_target=provider_side.target,
            soap_provider_nsa=PROVIDER_NSA,
            nso_sim_port=free_port(),
            **{"grpc_port": 0, **provider_side.settings},
        )
        gateway = Gateway(settings, build_components(settings))
        await gateway.start()
        assert gateway.grpc is not None
        provider_side.connect(f"127.0.0.1:{gateway.grpc.port}")
        try:
            yield Stack(
                f"http://127.0.0.1:{gateway.http.port}/nsi/v2/provider",
                f"{requester_base}/requester",
                inbox,
                provider_side.kind,
            )
        finally:
            await gateway.stop()
    assert inbox.invalid == []


class ValidateOnTheWire(zeep.Plugin):
    """Checks every request zeep sends and every reply it receives against the XSDs."""

    def __init__(self, schemas: NsiSchemas) -> None:
        self.schemas = schemas
        self.checked = 0

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        self.schemas.check(etree.tostring(envelope))
        self.checked += 1
        return envelope, http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        self.schemas.check(etree.tostring(envelope))
        self.checked += 1
        return envelope, http_headers


@pytest.fixture
def wire(nsi_schemas: NsiSchemas) -> ValidateOnTheWire:
    return ValidateOnTheWire(nsi_schemas)


@pytest.fixture
def wsdl_client(wire: ValidateOnTheWire) -> zeep.Client:
    wsdl = schema_directory() / "ogf_nsi_connection_provider_v2_0.wsdl"
    return zeep.Client(str(wsdl), plugins=[wire])  # type: ignore[no-untyped-call]


class Requester:
    """zeep calls, run in a thread so the gateway keeps serving in this event loop."""

    def __init__(self, client: zeep.Client, stack: Stack) -> None:
        self.client = client
        binding = next(iter(client.wsdl.bindings))
        self.service = client.create_service(binding, stack.provider_url)  # type: ignore[no-untyped-call]
        self.reply_to = stack.reply_to
        self.header_type = client.get_element(f"{{{HEADERS}}}nsiHeader")  # type: ignore[no-untyped-call]

    def header(self) -> tuple[str, Any]:
        correlation_id = f"urn:uuid:{uuid.uuid4()}"
        return correlation_id, self.header_type(
            protocolVersion="application/vnd.ogf.nsi.cs.v2.provider+soap",
            correlationId=correlation_id,
            requesterNSA=REQUESTER_NSA,
            providerNSA=PROVIDER_NSA,
            replyTo=self.reply_to,
        )

    async def call(self, operation: str, **arguments: Any) -> tuple[str, Any]:
        correlation_id, header = self.header()
        method = getattr(self.service, operation)
        result = await asyncio.to_thread(method, _soapheaders=[header], **arguments)
        # the reply carries an nsiHeader too, so zeep answers {"header": ..., "body": ...}
        assert result["header"]["header"]["correlationId"] == correlation_id
        return correlation_id, result["body"]

    def criteria(self, version: int, **fields: Any) -> Any:
        kind = self.client.get_type(f"{{{TYPES}}}ReservationRequestCriteriaType")  # type: ignore[no-untyped-call]
        return kind(version=version, **fields)


def p2ps(capacity: int) -> etree._Element:
    return etree.fromstring(
        f'<p:p2ps xmlns:p="{P2P}"><capacity>{capacity}</capacity>'
        "<directionality>Bidirectional</directionality><symmetricPath>true</symmetricPath>"
        "<sourceSTP>urn:ogf:network:example.net:2025:topology:port-1?vlan=100-199</sourceSTP>"
        "<destSTP>urn:ogf:network:example.net:2025:topology:port-2?vlan=200</destSTP>"
        '<ero><orderedSTP order="0"><stp>urn:ogf:network:example.net:2025:topology:core-1</stp>'
        '</orderedSTP></ero><parameter type="mtu">9000</parameter></p:p2ps>'
    )


def body(callback: Callback) -> etree._Element:
    found = callback.root.find("{*}Body")
    assert found is not None
    return found[0]


async def test_full_lifecycle_and_queries(
    stack: Stack, wsdl_client: zeep.Client, wire: ValidateOnTheWire
) -> None:
    requester = Requester(wsdl_client, stack)
    inbox = stack.inbox

    # reserve: start "now" (nil), no end (absent), a full p2ps with ERO and a parameter
    criteria = requester.criteria(
        1,
        schedule={"startTime": zeep.xsd.Nil, "endTime": zeep.xsd.SkipValue},
        serviceType="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
        _value_1=[p2ps(1000)],
    )
    correlation, reply = await requester.call(
        "reserve",
        globalReservationId=f"urn:uuid:{uuid.uuid4()}",
        description="zeep lifecycle",
        criteria=criteria,
    )
    connection_id = reply["connectionId"]
    assert connection_id
    (confirmed,) = await inbox.wait(correlation, "reserveConfirmed")
    confirmed_body = body(confirmed)
    assert confirmed_body.findtext("connectionId") == connection_id
    assert confirmed_body.findtext("description") == "zeep lifecycle"
    assert confirmed_body.find("criteria").get("version") == "1"  # type: ignore[union-attr]
    start = confirmed_body.find("criteria/schedule/startTime")
    assert start is not None
    if stack.provider == "double":  # echoes what it got: nil went through gRPC and back
        assert start.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    else:  # our agent resolves "now" and confirms the instant it chose
        assert start.text
        assert start.text.startswith(str(datetime.now(UTC).year))
    assert confirmed_body.find("criteria/schedule/endTime") is None  # absent stays absent
    service = confirmed_body.find(f"criteria/{{{P2P}}}p2ps")
    assert service is not None
    assert (
        service.findtext("ero/orderedSTP/stp") == "urn:ogf:network:example.net:2025:topology:core-1"
    )
    assert service.find("parameter").get("type") == "mtu"  # type: ignore[union-attr]

    correlation, _ = await requester.call("reserveCommit", connectionId=connection_id)
    await inbox.wait(correlation, "reserveCommitConfirmed")

    # modify: the bare-capacity form, version 2
    modify = requester.criteria(
        2, _value_1=[etree.fromstring(f'<p:capacity xmlns:p="{P2P}">2000</p:capacity>')]
    )
    correlation, same = await requester.call("reserve", connectionId=connection_id, criteria=modify)
    assert same["connectionId"] == connection_id
    (modified,) = await inbox.wait(correlation, "reserveConfirmed")
    assert body(modified).find("criteria").get("version") == "2"  # type: ignore[union-attr]
    assert body(modified).findtext(f"criteria/{{{P2P}}}p2ps/capacity") == "2000"
    correlation, _ = await requester.call("reserveCommit", connectionId=connection_id)
    await inbox.wait(correlation, "reserveCommitConfirmed")

    correlation, _ = await requester.call("provision", connectionId=connection_id)
    change = await inbox.data_plane_change(
        stack.provider, correlation, "provisionConfirmed", connection_id
    )
    assert body(change).findtext("dataPlaneStatus/active") == "true"

    # queries, asynchronous and synchronous
    summary = await requester.call("querySummarySync", connectionId=[connection_id])
    reservation = summary[1]["reservation"][0]
    assert reservation["connectionId"] == connection_id
    assert reservation["connectionStates"]["provisionState"] == "Provisioned"
    assert reservation["criteria"][0]["version"] == 2
    correlation, _ = await requester.call("querySummary", connectionId=[connection_id])
    (summary_callback,) = await inbox.wait(correlation, "querySummaryConfirmed")
    assert (
        body(summary_callback).findtext("reservation/connectionStates/reservationState")
        == "ReserveStart"
    )
    correlation, _ = await requester.call("queryRecursive", connectionId=[connection_id])
    (recursive,) = await inbox.wait(correlation, "queryRecursiveConfirmed")
    assert body(recursive).findtext("reservation/connectionId") == connection_id

    correlation, _ = await requester.call("queryNotification", connectionId=connection_id)
    (notifications,) = await inbox.wait(correlation, "queryNotificationConfirmed")
    assert body(notifications).findtext(f"{{{TYPES}}}dataPlaneStateChange/notificationId") == "1"
    _, notifications_sync = await requester.call(
        "queryNotificationSync", connectionId=connection_id, startNotificationId=1
    )
    assert notifications_sync is not None

    correlation, _ = await requester.call("queryResult", connectionId=connection_id)
    (results,) = await inbox.wait(correlation, "queryResultConfirmed")
    assert len(body(results).findall("result")) == 5
    _, results_sync = await requester.call(
        "queryResultSync", connectionId=connection_id, endResultId=2
    )
    assert [item["resultId"] for item in results_sync["result"]] == [1, 2]

    correlation, _ = await requester.call("release", connectionId=connection_id)
    change = await inbox.data_plane_change(
        stack.provider, correlation, "releaseConfirmed", connection_id
    )
    assert body(change).findtext("dataPlaneStatus/active") == "false"
    correlation, _ = await requester.call("terminate", connectionId=connection_id)
    await inbox.wait(correlation, "terminateConfirmed")
    assert wire.checked == 2 * 14  # every request and every reply of the 14 calls above


async def test_abort_and_refusals(stack: Stack, wsdl_client: zeep.Client) -> None:
    requester = Requester(wsdl_client, stack)
    criteria = requester.criteria(1, serviceType="EVTS", _value_1=[p2ps(100)])
    correlation, reply = await requester.call("reserve", criteria=criteria)
    connection_id = reply["connectionId"]
    await stack.inbox.wait(correlation, "reserveConfirmed")
    correlation, _ = await requester.call("reserveAbort", connectionId=connection_id)
    await stack.inbox.wait(correlation, "reserveAbortConfirmed")

    with pytest.raises(Fault) as caught:
        await requester.call("provision", connectionId="no-such-connection")
    assert "RESERVATION_NONEXISTENT" in caught.value.message
    detail = caught.value.detail
    assert detail is not None
    assert detail.findtext(".//errorId") == "00203"
