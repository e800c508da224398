"""A gRPC driver calls all 17 ConnectionRequester methods; the SOAP arrives at a test server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from lxml import etree

from adapters.nsi_soap.delivery import create_sender
from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.namespaces import REQUESTER_OPERATIONS, soap_action
from adapters.nsi_soap.requester_readers import read_requester_message
from adapters.nsi_soap.requester_service import RequesterService, RequestMemory, add_to_server
from nsgw_proto.nsi import connection_requester_pb2_grpc as requester_grpc
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.schemas import NsiSchemas
from tests.adapters.nsi_soap.servers import SoapSink, serve_app
from tests.adapters.nsi_soap.test_requester_messages import expected_after_round_trip

METHODS = {operation: operation[0].upper() + operation[1:] for operation in REQUESTER_OPERATIONS}


@dataclass
class DirectQueue:
    """A CallbackQueue that sends at once (the durable one is tested with the gateway)."""

    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sender = create_sender(timeout=5)

    async def put(
        self, ordering_key: str, destination: str, payload: bytes, attributes: dict[str, Any]
    ) -> None:
        self.sent.append((ordering_key, destination, attributes))
        await self.sender.send(destination, payload, attributes)


@dataclass
class Rig:
    stub: Any
    sink: SoapSink
    queue: DirectQueue
    memory: RequestMemory
    reply_to: str


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sink = SoapSink()
    queue = DirectQueue()
    memory = RequestMemory()
    server = grpc.aio.server()
    add_to_server(RequesterService(queue, memory, samples.PROVIDER_NSA), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with (
        serve_app(sink.app()) as base,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        yield Rig(
            requester_grpc.ConnectionRequesterStub(channel),
            sink,
            queue,
            memory,
            f"{base}/requester",
        )
    await server.stop(None)
    await queue.sender.aclose()


@pytest.mark.parametrize("operation", REQUESTER_OPERATIONS)
async def test_callback_arrives_as_valid_soap(
    operation: str, rig: Rig, nsi_schemas: NsiSchemas
) -> None:
    message = samples.callbacks()[operation]
    message.header.reply_to = rig.reply_to
    # the request this answers carried a connectionTrace: it comes back on the callback
    rig.memory.remember(message.header.correlation_id, "", HeaderExtras([samples.CONNECTION_TRACE]))
    ack = await getattr(rig.stub, METHODS[operation])(message)
    if operation != "queryResultConfirmed":  # its reply type has no service_exception
        assert not ack.HasField("service_exception")
    assert ack.header.correlation_id == message.header.correlation_id
    await rig.sink.wait_for(1)
    action, body = rig.sink.received[0]
    assert action == soap_action(operation)
    nsi_schemas.check(body)
    read_operation, back, extras = read_requester_message(body)
    assert read_operation == operation
    expected = expected_after_round_trip(operation, message)
    assert back == expected
    assert len(extras.extensions) == 1
    key = rig.queue.sent[0][0]
    connection = getattr(message, "connection_id", "") or message.header.correlation_id
    if hasattr(message, "notification"):
        connection = message.notification.connection_id
    if operation == "error":
        connection = message.service_exception.connection_id
    assert key == connection  # ordered per connection (queries: per request)


async def test_reply_to_remembered_from_the_request(rig: Rig) -> None:
    message = samples.callbacks()["reserveCommitConfirmed"]
    message.header.reply_to = ""  # an agent that does not echo it
    rig.memory.remember(message.header.correlation_id, rig.reply_to, HeaderExtras())
    await rig.stub.ReserveCommitConfirmed(message)
    await rig.sink.wait_for(1)
    assert rig.queue.sent[0][1] == rig.reply_to


async def test_no_reply_to_anywhere_is_refused_in_the_ack(rig: Rig) -> None:
    message = samples.callbacks()["provisionConfirmed"]
    message.header.reply_to = ""
    ack = await rig.stub.ProvisionConfirmed(message)
    assert ack.service_exception.error_id == "00101"
    assert "reply_to" in ack.service_exception.text
    await asyncio.sleep(0)
    assert rig.queue.sent == []


async def test_callback_that_cannot_be_expressed_is_refused(rig: Rig) -> None:
    message = samples.error_event()
    message.header.reply_to = rig.reply_to
    message.event = 0  # type: ignore[assignment]
    ack = await rig.stub.ErrorEvent(message)
    assert ack.service_exception.error_id == "00100"
    assert rig.queue.sent == []


async def test_callbacks_keep_no_reply_to_in_their_header(rig: Rig) -> None:
    message = samples.callbacks()["terminateConfirmed"]
    message.header.reply_to = rig.reply_to
    await rig.stub.TerminateConfirmed(message)
    await rig.sink.wait_for(1)
    root = etree.fromstring(rig.sink.received[0][1])
    assert root.find(".//replyTo") is None
    assert root.findtext(".//protocolVersion") == "application/vnd.ogf.nsi.cs.v2.requester+soap"


async def test_text_xml_cannot_carry_is_refused_in_the_ack(rig: Rig) -> None:
    message = samples.reserve_confirmed()
    message.header.reply_to = rig.reply_to
    message.description = "bell \x07"
    ack = await rig.stub.ReserveConfirmed(message)
    assert ack.service_exception.error_id == "00100"
    assert rig.queue.sent == []
