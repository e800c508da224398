"""``nsgw call``: any nsgw.v1 method from a shell, against a running gateway over real gRPC."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.cli.call import to_json
from gateway.client import NsgwClient
from nsgw_proto.nsgw.v1 import nso_resources_pb2
from tests.gateway.cli.conftest import AUTH, TOKEN
from tests.gateway.operations.harness import Gates, Running, at_the_gate, start_job


async def nsgw_call(running: Running, *args: str, stdin: str | None = None) -> Result:
    env = {"NSGW_API_SERVER": running.target, "NSGW_API_TOKEN": TOKEN, "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["call", *args], input=stdin, env=env)


def json_objects(output: str) -> list[dict[str, Any]]:
    """The JSON objects printed (the in-process gateway's log lines share stdout)."""
    decoder, found, at = json.JSONDecoder(), [], output.find("{\n")
    while at != -1:
        obj, end = decoder.raw_decode(output, at)
        found.append(obj)
        at = output.find("{\n", end)
    return found


async def test_a_unary_call_prints_the_reply_as_json(running: Running) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        op = await start_job(client.channel, AUTH, target="pe1", request_id="call-1", steps=1)
        await client.operations.wait(op.name)

    got = await nsgw_call(running, "Operations/GetOperation", json.dumps({"name": op.name}))
    assert got.exit_code == 0, got.output
    (reply,) = json_objects(got.output)
    assert reply["name"] == op.name
    assert reply["state"] == "OPERATION_STATE_SUCCEEDED"
    assert reply["request_id"] == "call-1"

    from_stdin = await nsgw_call(
        running, "nsgw.v1.Operations/GetOperation", "-", stdin=json.dumps({"name": op.name})
    )
    assert json_objects(from_stdin.output)[0]["name"] == op.name


async def test_a_stream_prints_every_message(running: Running) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        op = await start_job(client.channel, AUTH, target="pe1", request_id="call-s", steps=2)
        await client.operations.wait(op.name)
    watched = await nsgw_call(running, "Operations/WatchOperation", json.dumps({"name": op.name}))
    assert watched.exit_code == 0, watched.output
    updates = json_objects(watched.output)
    messages = [u["progress"]["message"] for u in updates if "progress" in u]
    assert "step 1 of 2 on pe1" in messages
    assert updates[-1]["operation"]["state"] == "OPERATION_STATE_SUCCEEDED"


async def test_watch_follows_an_operation_and_exits_by_its_outcome(
    running: Running, gates: Gates
) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        op = await start_job(client.channel, AUTH, target="pe1", request_id="call-w", wait=True)
        watching = asyncio.create_task(
            nsgw_call(running, "Operations/GetOperation", json.dumps({"name": op.name}), "--watch")
        )
        await at_the_gate(client, op.name)
        gates.open("pe1")
        watched = await asyncio.wait_for(watching, 30)
        assert watched.exit_code == 0, watched.output
        assert "succeeded" in watched.output

        failing = await start_job(
            client.channel, AUTH, target="pe3", request_id="call-f", fail=True
        )
        await client.operations.wait(failing.name)
    refused = await nsgw_call(
        running, "Operations/GetOperation", json.dumps({"name": failing.name}), "--watch"
    )
    assert refused.exit_code == 1
    assert "TEST_REFUSED" in refused.output


async def test_the_errors_people_see(running: Running) -> None:
    unknown_method = await nsgw_call(running, "Operations/Frobnicate")
    assert unknown_method.exit_code == 2
    assert "no method 'Operations/Frobnicate'" in unknown_method.output
    assert "NsoServices/ApplyService" in unknown_method.output  # the choices

    bad_json = await nsgw_call(running, "Operations/GetOperation", '{"nmae": "x"}')
    assert bad_json.exit_code == 2
    assert "not a valid GetOperationRequest" in bad_json.output
    assert "nmae" in bad_json.output

    not_an_operation = await nsgw_call(running, "Operations/ListOperations", "{}", "--watch")
    assert not_an_operation.exit_code == 2
    assert "does not return one" in not_an_operation.output

    missing = await nsgw_call(
        running, "Operations/GetOperation", '{"name": "operations/0123456789abcdef"}'
    )
    assert missing.exit_code == 1
    assert "NOT_FOUND" in missing.output

    bad_field = await nsgw_call(
        running, "Operations/WatchOperation", '{"name": "operations/x", "from_progress_index": -1}'
    )
    assert bad_field.exit_code == 1
    assert "INVALID_ARGUMENT" in bad_field.output
    assert "from_progress_index: must be 0 or more" in bad_field.output


def test_payload_numbers_print_as_written() -> None:
    reply = nso_resources_pb2.ServiceInstance(path="/l2vlan:l2vlan=t")
    reply.config.update({"vlan-id": 200, "ratio": 0.5, "endpoint": [{"port": 2}]})
    printed = json.loads(to_json(reply))
    assert printed["config"] == {"vlan-id": 200, "ratio": 0.5, "endpoint": [{"port": 2}]}
    text = to_json(reply)  # a Struct's keys come in no fixed order
    assert '"vlan-id": 200' in text
    assert "200.0" not in text
