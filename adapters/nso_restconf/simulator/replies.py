"""Building blocks of the simulator's replies: its state, paths, bodies, errors."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.nso_restconf.simulator import tree as t
from adapters.nso_restconf.simulator.state import SimState
from adapters.nso_restconf.simulator.tree import Segment, TreeError

YANG_JSON = "application/yang-data+json"
YANG_PATCH = "application/yang-patch+json"
STATE_KEY = web.AppKey("nso_sim_state", SimState)


def state_of(request: web.Request) -> SimState:
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


def segments_of(request: web.Request) -> list[Segment]:
    # The raw path: keys may hold percent-encoded "/" and "," that must not split.
    raw = request.rel_url.raw_path
    for prefix in ("/restconf/data", "/restconf/operations"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    return t.parse_path(raw)


async def read_body(request: web.Request, allowed: str = YANG_JSON) -> Any:
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


def tag_headers(state: SimState) -> dict[str, str]:
    return {"ETag": state.datastore.etag, "Last-Modified": state.datastore.last_modified}


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type=YANG_JSON, headers=headers
    )
