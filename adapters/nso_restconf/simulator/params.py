"""Commit parameters as the simulator reads them: query flags (all versions) or the 6.7 header."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.nso_restconf.simulator.tree import TreeError

HEADER = "X-Cisco-NSO-Commit-Params"
READ_PARAMS = {
    "content",
    "depth",
    "fields",
    "exclude",
    "with-defaults",
    "limit",
    "offset",
    "unhide",
}
FLAG_PARAMS = {
    "dry-run-reverse",
    "no-networking",
    "no-out-of-sync-check",
    "no-overwrite",
    "no-revision-drop",
    "no-deploy",
    "reconcile",
    "use-lsa",
    "no-lsa",
    "commit-queue-block-others",
    "commit-queue-lock",
}
VALUE_PARAMS = {
    "dry-run",
    "commit-queue",
    "commit-queue-atomic",
    "commit-queue-tag",
    "commit-queue-timeout",
    "commit-queue-error-option",
    "rollback-comment",
    "rollback-label",
    "label",
    "comment",
    "rollback-id",
    "insert",
    "point",
    "params",
    "unhide",
}
WRITE_PARAMS = FLAG_PARAMS | VALUE_PARAMS
DRY_RUN_FORMATS = {"cli": "cli", "cli-c": "cli", "native": "native", "xml": "xml"}


@dataclass
class SimCommitParams:
    dry_run: str | None = None
    reverse: bool = False
    no_networking: bool = False
    no_out_of_sync_check: bool = False
    no_overwrite: bool = False
    no_deploy: bool = False
    commit_queue: str | None = None
    rollback_id: bool = False
    label: str = ""
    comment: str = ""


def _bad(message: str) -> TreeError:
    return TreeError(400, "invalid-value", message)


def _from_query(query: Mapping[str, str]) -> SimCommitParams:
    p = SimCommitParams()
    if "dry-run" in query:
        if query["dry-run"] not in DRY_RUN_FORMATS:
            raise _bad(f"invalid value for dry-run: {query['dry-run']!r}")
        p.dry_run = DRY_RUN_FORMATS[query["dry-run"]]
    p.reverse = "dry-run-reverse" in query
    p.no_networking = "no-networking" in query
    p.no_out_of_sync_check = "no-out-of-sync-check" in query
    p.no_overwrite = "no-overwrite" in query
    p.no_deploy = "no-deploy" in query
    if "commit-queue" in query:
        if query["commit-queue"] not in ("async", "sync", "bypass"):
            raise _bad(f"invalid value for commit-queue: {query['commit-queue']!r}")
        p.commit_queue = query["commit-queue"]
    if "rollback-id" in query:
        p.rollback_id = query["rollback-id"] in ("", "true")
    p.label = query.get("label", query.get("rollback-label", ""))
    p.comment = query.get("comment", query.get("rollback-comment", ""))
    return p


def _from_document(doc: Any) -> SimCommitParams:
    if not isinstance(doc, dict):
        raise _bad("commit-params must be a JSON object")
    doc = doc.get("tailf-ncs-commit-params:commit-params", doc)
    p = SimCommitParams()
    dry = doc.get("dry-run")
    if dry is not None:
        fmt = dry.get("outformat", "cli") if isinstance(dry, dict) else None
        if fmt not in DRY_RUN_FORMATS:
            raise _bad(f"invalid dry-run outformat {fmt!r}")
        p.dry_run = DRY_RUN_FORMATS[fmt]
        p.reverse = "reverse" in dry
    p.no_networking = "no-networking" in doc
    p.no_out_of_sync_check = "no-out-of-sync-check" in doc
    p.no_overwrite = "no-overwrite" in doc
    p.no_deploy = "no-deploy" in doc
    p.rollback_id = "rollback-id" in doc
    queue = doc.get("commit-queue")
    if queue is not None:
        mode = queue.get("mode") if isinstance(queue, dict) else None
        if mode not in ("async", "sync", "bypass"):
            raise _bad(f"invalid commit-queue mode {mode!r}")
        p.commit_queue = mode
    p.label = str(doc.get("label", ""))
    p.comment = str(doc.get("comment", ""))
    return p


def parse_commit_params(
    query: Mapping[str, str], header: str | None, header_supported: bool
) -> SimCommitParams:
    """The commit parameters of a write; TreeError 400 for bad values or combinations."""
    unknown = sorted(set(query) - WRITE_PARAMS)
    if unknown:
        raise _bad(f"unknown query parameter {unknown[0]!r}")
    encoded = query.get("params") if header_supported else None
    if header_supported and header:
        encoded = header
    if encoded:
        try:
            params = _from_document(json.loads(base64.b64decode(encoded, validate=True)))
        except (binascii.Error, ValueError):
            raise _bad("commit parameters are not base64 JSON") from None
    else:
        params = _from_query(query)
    if params.dry_run and (
        params.commit_queue or params.no_overwrite or params.no_out_of_sync_check
    ):
        raise _bad(
            "dry-run cannot be combined with commit-queue, no-overwrite or no-out-of-sync-check"
        )
    return params
