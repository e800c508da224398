"""The simulator's HTTP face: an aiohttp application speaking NSO's RESTCONF dialect."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from adapters.nso_restconf.simulator import actions
from adapters.nso_restconf.simulator import tree as t
from adapters.nso_restconf.simulator.faults import Faults
from adapters.nso_restconf.simulator.params import HEADER, READ_PARAMS, parse_commit_params
from adapters.nso_restconf.simulator.query import (
    exclude_fields,
    filter_content,
    parse_fields,
    prune_depth,
    select_fields,
    with_defaults,
)
from adapters.nso_restconf.simulator.state import DEVICES, SimState, device_entry
from adapters.nso_restconf.simulator.transaction import commit
from adapters.nso_restconf.simulator.tree import Segment, TreeError

YANG_JSON = "application/yang-data+json"
YANG_PATCH = "application/yang-patch+json"
STATE_KEY = web.AppKey("nso_sim_state", SimState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HOST_META = (
    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
    "    <Link rel='restconf' href='/restconf'/>\n"
    "</XRD>\n"
)


def _state(request: web.Request) -> SimState:
    return request.app[STATE_KEY]


def error_response(state: SimState, exc: TreeError) -> web.Response:
    error: dict[str, Any] = {"error-type": "application", "error-tag": exc.tag}
    if exc.path:
        error["error-path"] = exc.path
    if exc.message:
        error["error-message"] = exc.message
    if exc.status == 401:
        error["error-type"] = "protocol"
    body = {state.errors_key: {"error": [error]}}
    headers = {"WWW-Authenticate": 'Basic realm="restconf"'} if exc.status == 401 else None
    return web.Response(
        status=exc.status, text=json.dumps(body), content_type=YANG_JSON, headers=headers
    )


def _authorised(state: SimState, header: str | None) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return state.users.get(user) == password and user != ""


@web.middleware
async def restconf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = _state(request)
    if request.path.startswith("/.well-known/"):
        return await handler(request)
    try:
        if not _authorised(state, request.headers.get("Authorization")):
            raise TreeError(401, "access-denied", "access denied")
        if request.path.startswith("/sim/"):
            return await handler(request)
        faults = state.faults
        if faults.faults.latency_ms:
            await asyncio.sleep(faults.faults.latency_ms / 1000)
        if faults.take_busy():
            raise TreeError(503, "resource-denied", "NSO is busy, try again later")
        if faults.draw_error():
            raise TreeError(500, "operation-failed", "internal error (injected fault)")
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and faults.take_in_use():
            raise TreeError(
                409, "in-use", "the configuration database is locked by another session"
            )
        for name in set(request.query):
            if len(request.query.getall(name)) > 1:
                raise TreeError(
                    400, "invalid-value", f"query parameter {name!r} given more than once"
                )
        state.advance_queue()
        return await handler(request)
    except TreeError as exc:
        return error_response(state, exc)


async def host_meta(request: web.Request) -> web.Response:
    return web.Response(text=HOST_META, content_type="application/xrd+xml")


def _segments(request: web.Request) -> list[Segment]:
    # The raw path: keys may hold percent-encoded "/" and "," that must not split.
    raw = request.rel_url.raw_path
    for prefix in ("/restconf/data", "/restconf/operations"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    return t.parse_path(raw)


async def _body(request: web.Request, allowed: str = YANG_JSON) -> Any:
    ctype = request.content_type
    if ctype != allowed:
        raise TreeError(
            415, "malformed-message", f"unsupported media type {ctype!r}; use {allowed}"
        )
    raw = await request.read()
    if not raw.strip():
        raise TreeError(400, "malformed-message", "empty body")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise TreeError(400, "malformed-message", f"body is not valid JSON: {exc}") from None


def _tag_headers(state: SimState) -> dict[str, str]:
    return {"ETag": state.datastore.etag, "Last-Modified": state.datastore.last_modified}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type=YANG_JSON, headers=headers
    )


async def get_data(request: web.Request) -> web.StreamResponse:  # noqa: PLR0912
    state = _state(request)
    query = request.query
    unknown = sorted(set(query) - READ_PARAMS)
    if unknown:
        raise TreeError(400, "invalid-value", f"unknown query parameter {unknown[0]!r}")
    if "fields" in query and "exclude" in query:
        raise TreeError(400, "invalid-value", "fields and exclude cannot be combined")
    if state.datastore.not_modified(
        request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
    ):
        return web.Response(status=304, headers=_tag_headers(state))
    segments = _segments(request)
    if not segments:
        value: Any = state.datastore.tree
        body: Any = {"ietf-restconf:data": value}
    else:
        root = state.datastore.tree
        if (
            segments[0].name == DEVICES
            and len(segments) > 1
            and segments[1].local == "commit-queue"
        ):
            root = {DEVICES: {"commit-queue": state.queue.as_json()}}
        value = t.lookup(root, segments)
        name = segments[-1].name
        if "content" in query:
            if query["content"] not in ("config", "nonconfig", "all"):
                raise TreeError(400, "invalid-value", f"invalid content {query['content']!r}")
            value = filter_content(value, query["content"], name)
        if "with-defaults" in query:
            value = with_defaults(value, query["with-defaults"], name)
        if "fields" in query:
            value = select_fields(value, parse_fields(query["fields"]))
        if "exclude" in query:
            value = exclude_fields(value, parse_fields(query["exclude"]))
        if "depth" in query and query["depth"] != "unbounded":
            try:
                depth = int(query["depth"])
            except ValueError:
                depth = 0
            if not 1 <= depth <= 65535:
                raise TreeError(400, "invalid-value", f"invalid depth {query['depth']!r}")
            value = prune_depth(value, depth)
        body = t.wrap(segments, value)
    if value is None or value in ({}, []):
        return web.Response(status=204, headers=_tag_headers(state))
    return _json(200, body, _tag_headers(state))


def _preconditions(request: web.Request, state: SimState) -> None:
    if not state.datastore.matches(
        request.headers.get("If-Match"), request.headers.get("If-Unmodified-Since")
    ):
        raise _PreconditionFailed


class _PreconditionFailed(Exception):
    pass


async def write_data(request: web.Request) -> web.StreamResponse:  # noqa: PLR0912
    state = _state(request)
    segments = _segments(request)
    if request.method == "POST":
        action = await _maybe_action(request, state, segments)
        if action is not None:
            return action
    try:
        _preconditions(request, state)
    except _PreconditionFailed:
        return web.Response(status=412)
    params = parse_commit_params(request.query, request.headers.get(HEADER), state.header_params)
    method = request.method
    location = None
    if method == "PATCH" and request.content_type == YANG_PATCH:
        return await _yang_patch(request, state, segments, params)
    if method == "DELETE":
        if not segments:
            raise TreeError(400, "invalid-value", "cannot delete the datastore")

        def edit(new: dict[str, Any]) -> bool:
            t.delete_node(new, segments)
            return False

    else:
        body = await _body(request)
        if method == "POST":
            created_segment: list[str] = []

            def edit(new: dict[str, Any]) -> bool:
                created_segment.append(t.create_child(new, segments, body))
                return True

        elif method == "PUT":
            if not segments:
                raise TreeError(400, "invalid-value", "PUT of the whole datastore is not supported")
            value = t.unwrap_body(body, segments[-1])

            def edit(new: dict[str, Any]) -> bool:
                return t.set_node(new, segments, value)

        else:
            if not segments:
                raise TreeError(400, "invalid-value", "PATCH needs a target")
            value = t.unwrap_body(body, segments[-1])

            def edit(new: dict[str, Any]) -> bool:
                t.merge_node(new, segments, value)
                return False

    outcome = commit(state, edit, params)
    if outcome.dry_run:
        return _json(200, outcome.body)
    headers = _tag_headers(state)
    if method == "POST" and outcome.created:
        base = request.path.rstrip("/")
        location = f"{base}/{created_segment[0]}"
        headers["Location"] = location
    status = 201 if outcome.created else 204
    if outcome.body is not None:
        return _json(201 if outcome.created else 200, outcome.body, headers)
    return web.Response(status=status, headers=headers)


async def _yang_patch(
    request: web.Request, state: SimState, segments: list[Segment], params: Any
) -> web.Response:
    body = await _body(request, YANG_PATCH)
    patch = body.get("ietf-yang-patch:yang-patch") if isinstance(body, dict) else None
    if not isinstance(patch, dict) or not isinstance(patch.get("edit"), list):
        raise TreeError(400, "malformed-message", "body must be an ietf-yang-patch:yang-patch")
    patch_id = str(patch.get("patch-id", ""))
    failed: list[dict[str, Any]] = []

    def edit(new: dict[str, Any]) -> bool:
        for item in patch["edit"]:
            edit_id = str(item.get("edit-id", ""))
            try:
                _apply_edit(new, segments, item)
            except TreeError as exc:
                failed.append(
                    {
                        "edit-id": edit_id,
                        "errors": {
                            "error": [
                                {
                                    "error-type": "application",
                                    "error-tag": exc.tag,
                                    "error-path": exc.path or str(item.get("target", "")),
                                    "error-message": exc.message,
                                }
                            ]
                        },
                    }
                )
                raise
        return False

    try:
        outcome = commit(state, edit, params)
    except TreeError:
        if not failed:
            raise
        status = {"patch-id": patch_id, "edit-status": {"edit": failed}}
        return _json(400, {"ietf-yang-patch:yang-patch-status": status})
    if outcome.dry_run:
        return _json(200, outcome.body)
    ok = {"ietf-yang-patch:yang-patch-status": {"patch-id": patch_id, "ok": [None]}}
    return _json(200, ok, _tag_headers(state))


def _apply_edit(tree: dict[str, Any], base: list[Segment], item: dict[str, Any]) -> None:
    operation = item.get("operation")
    target = [*base, *t.parse_path_relative(str(item.get("target", "")))]
    if not target:
        raise TreeError(400, "invalid-value", "edit target is empty")
    if operation in ("delete", "remove"):
        if operation == "remove" and not t.exists(tree, target):
            return
        t.delete_node(tree, target)
        return
    value = t.unwrap_body(item.get("value"), target[-1])
    if operation == "create":
        if t.exists(tree, target):
            raise TreeError(409, "data-exists", f"object already exists: {t.keypath(target)}")
        t.set_node(tree, target, value)
    elif operation in ("replace", "insert", "move"):
        t.set_node(tree, target, value)
    elif operation == "merge":
        if t.exists(tree, target):
            t.merge_node(tree, target, value)
        else:
            t.set_node(tree, target, value)
    else:
        raise TreeError(400, "invalid-value", f"unknown edit operation {operation!r}")


async def _maybe_action(
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
            body = await _body_from(request, raw)
            input_ = body.get("input", {}) if isinstance(body, dict) else {}
            if not isinstance(input_, dict):
                raise TreeError(400, "malformed-message", "action input must be an object")
    output = run(input_)
    if output is None:
        return web.Response(status=204)
    return _json(200, output)


async def _body_from(request: web.Request, raw: bytes) -> Any:
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
    state = _state(request)
    segments = _segments(request)
    response = await _maybe_action(request, state, segments)
    if response is None:
        raise TreeError(404, "invalid-value", "uri keypath not found")
    return response


# --- admin endpoints (not NSO): fault injection and device-side changes ----------
async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_state(request).faults.faults.model_dump())


async def put_faults(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        faults = Faults.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    state.faults.set(faults)
    return web.json_response(faults.model_dump())


async def device_config(request: web.Request) -> web.Response:
    """GET or PUT the configuration held by the device itself (a change made on the box)."""
    state = _state(request)
    name = request.match_info["name"]
    device = state.devices.get(name)
    if device is None:
        return web.json_response({"error": f"no device {name!r}"}, status=404)
    if request.method == "PUT":
        try:
            config = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(config, dict):
            return web.json_response({"error": "config must be an object"}, status=400)
        device.actual = config
    return web.json_response(device.actual)


def create_app(state: SimState) -> web.Application:
    app = web.Application(middlewares=[restconf_middleware])
    app[STATE_KEY] = state
    app.router.add_get("/.well-known/host-meta", host_meta)
    for prefix in ("/restconf/data", "/restconf/data/{path:.*}"):
        app.router.add_get(prefix, _errors(get_data))
        for method in ("PUT", "POST", "PATCH", "DELETE"):
            app.router.add_route(method, prefix, _errors(write_data))
    app.router.add_post("/restconf/operations/{path:.*}", _errors(operations))
    app.router.add_get("/sim/faults", get_faults)
    app.router.add_put("/sim/faults", put_faults)
    app.router.add_route("GET", "/sim/devices/{name}/config", device_config)
    app.router.add_route("PUT", "/sim/devices/{name}/config", device_config)
    return app


def _errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except TreeError as exc:
            return error_response(_state(request), exc)

    return wrapped


def device_exists(state: SimState, name: str) -> bool:
    return device_entry(state.datastore.tree, name) is not None
