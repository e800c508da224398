"""The agent called by, and calling back, a part of its own process without gRPC."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.nsi_soap.provider_target import ProviderFailed
from gateway.agent.grpc_service import ConnectionProviderServicer
from gateway.agent.in_process import InProcessProvider
from gateway.agent.service import CHANNEL
from gateway.db import Database
from gateway.outbox import DeliveryError, DeliveryRefused, Outbox
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from tests.gateway.agent.conftest import (
    REPLY_TO,
    Agent,
    Recorder,
    agent_settings,
    generic,
    header,
    reserve_request,
    stp,
)

LOCAL = "in-process"


async def test_a_call_in_process_answers_as_the_grpc_service_does(
    agent: Agent, recorder: tuple[Recorder, str]
) -> None:
    provider = InProcessProvider(agent.component.servicer)
    bad = reserve_request(source=stp("port-9"))
    over_grpc = await agent.stub.Reserve(bad)
    in_process = await provider.call("Reserve", bad, 5.0)
    assert in_process.service_exception.error_id == "00701"
    assert in_process == over_grpc

    reply = await provider.call("Reserve", reserve_request(), 5.0)
    assert not reply.HasField("service_exception")
    confirmed = await recorder[0].wait("ReserveConfirmed", reply.connection_id)
    assert confirmed.criteria.ptps.capacity == 100


async def test_a_refused_sync_query_is_a_failed_call(agent: Agent) -> None:
    provider = InProcessProvider(agent.component.servicer)
    request = provider_pb2.QueryResultRequest(header=header(), connection_id="unknown")
    with pytest.raises(ProviderFailed, match="FAILED_PRECONDITION: 00203") as caught:
        await provider.call("QueryResultSync", request, 5.0)
    assert not caught.value.timed_out


async def test_no_answer_within_the_deadline_is_a_timeout(agent: Agent) -> None:
    class Stuck(ConnectionProviderServicer):
        async def Reserve(self, request: Any, context: Any) -> Any:
            await asyncio.sleep(10)

    provider = InProcessProvider(Stuck(agent.service))
    with pytest.raises(ProviderFailed, match=r"no answer within 0\.1s") as caught:
        await provider.call("Reserve", reserve_request(), 0.1)
    assert caught.value.timed_out


async def test_an_unknown_method_is_a_failed_call(agent: Agent) -> None:
    provider = InProcessProvider(agent.component.servicer)
    with pytest.raises(ProviderFailed, match="UNIMPLEMENTED"):
        await provider.call("Reboot", reserve_request(), 1.0)


@dataclass
class LocalRequester:
    """A requester of the agent's process: fails as told, records what it took."""

    failures: list[Exception] = field(default_factory=list)
    delivered: list[tuple[str, Any, int]] = field(default_factory=list)
    given_up: list[tuple[str, str]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver_now(self, method: str, request: Any, attempts: int) -> None:
        self.arrived.set()
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append((method, request, attempts))

    def gave_up(self, attributes: dict[str, Any], destination: str, reason: str) -> None:
        self.given_up.append((str(attributes.get("method")), destination))

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.delivered) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_callbacks_go_to_a_requester_of_this_process_and_are_retried(
    agent: Agent, recorder: tuple[Recorder, str]
) -> None:
    local = LocalRequester(failures=[DeliveryError("receiver down")])
    agent.component.call_back_in_process(LOCAL, local)
    reply = await agent.stub.Reserve(reserve_request())
    await local.wait_for(1)
    method, request, attempts = local.delivered[0]
    assert method == "ReserveConfirmed"
    assert isinstance(request, requester_pb2.ReserveConfirmedRequest)
    assert request.connection_id == reply.connection_id
    assert attempts == 2  # the first attempt failed; the second went through
    # a callback queued for a gRPC requester before the switch still goes there
    rec, target = recorder
    message = requester_pb2.GenericConfirmedRequest(header=header(), connection_id="conn-old")
    await agent.outbox.enqueue(
        CHANNEL,
        "conn-old",
        destination=target,
        payload=message.SerializeToString(),
        attributes={"method": "ReleaseConfirmed", "connection_id": "conn-old"},
    )
    assert (await rec.wait("ReleaseConfirmed", "conn-old")).connection_id == "conn-old"
    assert [m for m, _, _ in local.delivered] == ["ReserveConfirmed"]


async def test_a_refused_callback_is_given_up_and_told_to_the_requester(agent: Agent) -> None:
    local = LocalRequester(failures=[DeliveryRefused("404"), DeliveryRefused("404")])
    agent.component.call_back_in_process(LOCAL, local)
    request = reserve_request()
    reply = await agent.stub.Reserve(request)
    async with asyncio.timeout(10):
        while len(local.given_up) < 2:
            await asyncio.sleep(0.02)
    # the reserveConfirmed, then the messageDeliveryTimeout about it (given up in turn),
    # each recorded with the peer it was for
    assert local.given_up == [
        ("ReserveConfirmed", REPLY_TO),
        ("MessageDeliveryTimeout", REPLY_TO),
    ]
    notifications = await agent.stub.QueryNotificationSync(
        provider_pb2.QueryNotificationRequest(header=header(), connection_id=reply.connection_id)
    )
    [timeout] = notifications.message_delivery_timeout
    assert timeout.correlation_id == request.header.correlation_id
    assert local.delivered == []
    await agent.stub.ReserveAbort(generic(reply.connection_id))


@dataclass
class StuckPeer(LocalRequester):
    """Holds every callback for the peer at ``stuck`` until released."""

    stuck: str = "https://stuck.example/nsi/callback"
    holding: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver_now(self, method: str, request: Any, attempts: int) -> None:
        if request.header.reply_to == self.stuck:
            self.holding += 1
            await self.release.wait()
        await super().deliver_now(method, request, attempts)


async def test_a_peer_that_does_not_answer_holds_back_its_own_callbacks_only(
    tmp_path: Path, sqlite_db: Database, recorder: tuple[Recorder, str]
) -> None:
    # Two attempts at once to one receiver, four in all.
    outbox = Outbox(sqlite_db, concurrency=4, per_destination=2, poll_interval=0.05)
    agent = Agent(agent_settings(tmp_path, recorder[1]), sqlite_db, outbox)
    await agent.start()
    peers = StuckPeer()
    agent.component.call_back_in_process(LOCAL, peers)
    try:
        for _ in range(3):  # more callbacks for the stuck peer than its share of attempts
            await agent.stub.Reserve(reserve_request(reply_to=peers.stuck))
        async with asyncio.timeout(10):
            while peers.holding < 2:
                await asyncio.sleep(0.02)
        reply = await agent.stub.Reserve(reserve_request())  # another peer (REPLY_TO)
        await peers.wait_for(1)
        assert [(m, r.connection_id) for m, r, _ in peers.delivered] == [
            ("ReserveConfirmed", reply.connection_id)
        ]
        assert peers.holding == 2
        peers.release.set()
        await peers.wait_for(4)
    finally:
        peers.release.set()
        await agent.stop()
