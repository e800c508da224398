"""The simulator's HTTP face: an aiohttp application speaking NSO's RESTCONF dialect."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.nso_restconf.simulator import tree as t
from adapters.nso_restconf.simulator.admin import add_admin_routes
from adapters.nso_restconf.simulator.dispatch import maybe_action, operations
from adapters.nso_restconf.simulator.params import HEADER, READ_PARAMS, parse_commit_params
from adapters.nso_restconf.simulator.query import (
    exclude_fields,
    filter_content,
    parse_fields,
    prune_depth,
    select_fields,
    with_defaults,
)
from adapters.nso_restconf.simulator.replies import (
    STATE_KEY,
    YANG_PATCH,
    error_response,
    json_reply,
    read_body,
    segments_of,
    state_of,
    tag_headers,
)
from adapters.nso_restconf.simulator.state import DEVICES, SimState
from adapters.nso_restconf.simulator.transaction import commit
from adapters.nso_restconf.simulator.tree import TreeError
from adapters.nso_restconf.simulator.yang_patch import yang_patch

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HOST_META = (
    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
    "    <Link rel='restconf' href='/restconf'/>\n"
    "</XRD>\n"
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
    state = state_of(request)
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


async def get_data(request: web.Request) -> web.StreamResponse:  # noqa: PLR0912
    state = state_of(request)
    query = request.query
    unknown = sorted(set(query) - READ_PARAMS)
    if unknown:
        raise TreeError(400, "invalid-value", f"unknown query parameter {unknown[0]!r}")
    if "fields" in query and "exclude" in query:
        raise TreeError(400, "invalid-value", "fields and exclude cannot be combined")
    if state.datastore.not_modified(
        request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
    ):
        return web.Response(status=304, headers=tag_headers(state))
    segments = segments_of(request)
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
        return web.Response(status=204, headers=tag_headers(state))
    return json_reply(200, body, tag_headers(state))


def _preconditions(request: web.Request, state: SimState) -> None:
    if not state.datastore.matches(
        request.headers.get("If-Match"), request.headers.get("If-Unmodified-Since")
    ):
        raise _PreconditionFailed


class _PreconditionFailed(Exception):
    pass


async def write_data(request: web.Request) -> web.StreamResponse:  # noqa: PLR0912
    state = state_of(request)
    segments = segments_of(request)
    if request.method == "POST":
        action = await maybe_action(request, state, segments)
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
        return await yang_patch(request, state, segments, params)
    if method == "DELETE":
        if not segments:
            raise TreeError(400, "invalid-value", "cannot delete the datastore")

        def edit(new: dict[str, Any]) -> bool:
            t.delete_node(new, segments)
            return False

    else:
        body = await read_body(request)
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
        return json_reply(200, outcome.body)
    headers = tag_headers(state)
    if method == "POST" and outcome.created:
        base = request.path.rstrip("/")
        location = f"{base}/{created_segment[0]}"
        headers["Location"] = location
    status = 201 if outcome.created else 204
    if outcome.body is not None:
        return json_reply(201 if outcome.created else 200, outcome.body, headers)
    return web.Response(status=status, headers=headers)


def create_app(state: SimState) -> web.Application:
    app = web.Application(middlewares=[restconf_middleware])
    app[STATE_KEY] = state
    app.router.add_get("/.well-known/host-meta", host_meta)
    for prefix in ("/restconf/data", "/restconf/data/{path:.*}"):
        app.router.add_get(prefix, _errors(get_data))
        for method in ("PUT", "POST", "PATCH", "DELETE"):
            app.router.add_route(method, prefix, _errors(write_data))
    app.router.add_post("/restconf/operations/{path:.*}", _errors(operations))
    add_admin_routes(app)
    return app


def _errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except TreeError as exc:
            return error_response(state_of(request), exc)

    return wrapped
