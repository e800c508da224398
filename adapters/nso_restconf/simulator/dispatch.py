"""Which action a POST names, and running it (under ``/restconf/data`` or ``/operations``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from adapters.nso_restconf.simulator import actions
from adapters.nso_restconf.simulator.replies import (
    YANG_JSON,
    json_reply,
    segments_of,
    state_of,
)
from adapters.nso_restconf.simulator.state import DEVICES, SimState
from adapters.nso_restconf.simulator.tree import Segment, TreeError


async def maybe_action(
    request: web.Request, state: SimState, segments: list[Segment]
) -> web.StreamResponse | None:
    """Run the action the path names, or None when the POST is a create."""
    output: Any
    run = _find_action(state, segments)
    if run is None:
        return None
    if set(request.query) - {"unhide"}:
        raise TreeError(400, "invalid-value", "query parameters are not allowed on an action")
    device_latency = state.faults.faults.device_latency_ms
    if device_latency and segments[0].name == DEVICES:
        await asyncio.sleep(device_latency / 1000)  # the round trip to the device
    input_: dict[str, Any] = {}
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            body = await body_from(request, raw)
            input_ = body.get("input", {}) if isinstance(body, dict) else {}
            if not isinstance(input_, dict):
                raise TreeError(400, "malformed-message", "action input must be an object")
    output = run(input_)
    if output is None:
        return web.Response(status=204)
    return json_reply(200, output)


async def body_from(request: web.Request, raw: bytes) -> Any:
    if request.content_type != YANG_JSON:
        raise TreeError(
            415, "malformed-message", f"unsupported media type {request.content_type!r}"
        )
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise TreeError(400, "malformed-message", f"body is not valid JSON: {exc}") from None


ActionRun = Callable[[dict[str, Any]], Any]


def _find_action(state: SimState, segments: list[Segment]) -> ActionRun | None:  # noqa: PLR0911
    if not segments:
        return None
    top = segments[0]
    if top.name == DEVICES:
        if len(segments) == 2 and segments[1].local == "check-sync" and segments[1].keys is None:
            return lambda _input: actions.devices_check_sync(state)
        if len(segments) >= 3 and segments[1].local == "device" and segments[1].keys:
            name = segments[1].keys[0]
            rest = tuple(s.name for s in segments[2:])
            if rest in actions.DEVICE_ACTIONS:
                return lambda input_: actions.device_action(state, name, rest, input_)
            if len(rest) == 3 and rest[0] == "live-status" and rest[2] == "any":
                module, _, verb = rest[1].partition(":")
                if verb == "exec":
                    return lambda input_: actions.live_status_exec(state, name, module, input_)
        return None
    model = state.models.get(top.name)
    if (
        model is not None
        and len(segments) == 2
        and top.keys
        and segments[1].local in actions.SERVICE_ACTIONS
    ):
        key, verb = top.keys[0], segments[1].local
        return lambda input_: actions.service_action(state, model, key, verb, input_)
    return None


async def operations(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    segments = segments_of(request)
    response = await maybe_action(request, state, segments)
    if response is None:
        raise TreeError(404, "invalid-value", "uri keypath not found")
    return response
