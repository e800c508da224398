"""YANG Patch (RFC 8072): several edits, one transaction, all or nothing."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.nso_restconf.simulator import tree as t
from adapters.nso_restconf.simulator.params import SimCommitParams
from adapters.nso_restconf.simulator.replies import YANG_PATCH, json_reply, read_body, tag_headers
from adapters.nso_restconf.simulator.state import SimState
from adapters.nso_restconf.simulator.transaction import commit
from adapters.nso_restconf.simulator.tree import Segment, TreeError


async def yang_patch(
    request: web.Request, state: SimState, segments: list[Segment], params: SimCommitParams
) -> web.Response:
    body = await read_body(request, YANG_PATCH)
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
        return json_reply(400, {"ietf-yang-patch:yang-patch-status": status})
    if outcome.dry_run:
        return json_reply(200, outcome.body)
    ok = {"ietf-yang-patch:yang-patch-status": {"patch-id": patch_id, "ok": [None]}}
    return json_reply(200, ok, tag_headers(state))


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
