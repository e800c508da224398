"""Commit parameters: one typed model, two wire encodings.

NSO 6.4 to 6.6 take commit parameters as query flags (``?dry-run=cli&no-networking``);
NSO 6.7 takes a base64 JSON document in the ``X-Cisco-NSO-Commit-Params`` header.
:class:`CommitParams` refuses combinations NSO refuses before anything is sent,
and :func:`encode` produces either form, chosen by :func:`encoding_for_version`.
"""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.nso_restconf.errors import CommitParamsError

COMMIT_PARAMS_HEADER = "X-Cisco-NSO-Commit-Params"


class DryRunFormat(StrEnum):
    CLI = "cli"
    NATIVE = "native"
    XML = "xml"


class CommitQueueMode(StrEnum):
    ASYNC = "async"
    SYNC = "sync"
    BYPASS = "bypass"


class CommitEncoding(StrEnum):
    QUERY = "query"  # NSO <= 6.6
    HEADER = "header"  # NSO 6.7+


def encoding_for_version(version: str) -> CommitEncoding:
    """The commit-parameter encoding an NSO version expects (``"6.7"`` and later: header)."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        raise ValueError(f"NSO version {version!r} is not of the form MAJOR.MINOR") from None
    return CommitEncoding.HEADER if (major, minor) >= (6, 7) else CommitEncoding.QUERY


class CommitParams(BaseModel):
    """Commit parameters of one write (each RESTCONF write is its own transaction)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dry_run: DryRunFormat | None = None
    dry_run_reverse: bool = False
    no_networking: bool = False
    no_out_of_sync_check: bool = False
    no_overwrite: bool = False
    no_revision_drop: bool = False
    no_deploy: bool = False
    reconcile: bool = False
    use_lsa: bool = False
    no_lsa: bool = False
    commit_queue: CommitQueueMode | None = None
    commit_queue_atomic: bool | None = None
    commit_queue_block_others: bool = False
    commit_queue_lock: bool = False
    commit_queue_tag: str | None = None
    commit_queue_timeout: int | None = Field(None, ge=0)
    commit_queue_error_option: (
        Literal["continue-on-error", "rollback-on-error", "stop-on-error"] | None
    ) = None
    label: str | None = None
    comment: str | None = None
    rollback_id: bool = False

    @model_validator(mode="after")
    def _combinations(self) -> CommitParams:
        if self.dry_run is not None:
            clash = [
                name
                for name, on in (
                    ("commit-queue", self.commit_queue is not None),
                    ("no-overwrite", self.no_overwrite),
                    ("no-out-of-sync-check", self.no_out_of_sync_check),
                )
                if on
            ]
            if clash:
                raise ValueError(f"dry-run cannot be combined with {', '.join(clash)}")
        elif self.dry_run_reverse:
            raise ValueError("dry-run-reverse needs dry-run")
        if self.use_lsa and self.no_lsa:
            raise ValueError("use-lsa and no-lsa exclude each other")
        queue_options = (
            self.commit_queue_atomic is not None
            or self.commit_queue_block_others
            or self.commit_queue_lock
            or self.commit_queue_tag is not None
            or self.commit_queue_timeout is not None
            or self.commit_queue_error_option is not None
        )
        if queue_options and self.commit_queue in (None, CommitQueueMode.BYPASS):
            raise ValueError("commit-queue options need commit-queue async or sync")
        return self

    @classmethod
    def build(cls, **values: Any) -> CommitParams:
        """Like the constructor, but raises :class:`CommitParamsError` with one clear line."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'commit params'}: {e['msg']}"
                for e in exc.errors()
            )
            raise CommitParamsError(f"invalid commit parameters: {problems}") from None

    @property
    def is_dry_run(self) -> bool:
        return self.dry_run is not None


def to_query(params: CommitParams) -> dict[str, str]:
    """The NSO <= 6.6 query parameters; an empty value marks a bare flag (``?no-networking``)."""
    query: dict[str, str] = {}
    if params.dry_run is not None:
        query["dry-run"] = params.dry_run.value
    flags = {
        "dry-run-reverse": params.dry_run_reverse,
        "no-networking": params.no_networking,
        "no-out-of-sync-check": params.no_out_of_sync_check,
        "no-overwrite": params.no_overwrite,
        "no-revision-drop": params.no_revision_drop,
        "no-deploy": params.no_deploy,
        "reconcile": params.reconcile,
        "use-lsa": params.use_lsa,
        "no-lsa": params.no_lsa,
        "commit-queue-block-others": params.commit_queue_block_others,
        "commit-queue-lock": params.commit_queue_lock,
    }
    query.update({name: "" for name, on in flags.items() if on})
    if params.commit_queue is not None:
        query["commit-queue"] = params.commit_queue.value
    if params.commit_queue_atomic is not None:
        query["commit-queue-atomic"] = str(params.commit_queue_atomic).lower()
    if params.commit_queue_tag is not None:
        query["commit-queue-tag"] = params.commit_queue_tag
    if params.commit_queue_timeout is not None:
        query["commit-queue-timeout"] = str(params.commit_queue_timeout)
    if params.commit_queue_error_option is not None:
        query["commit-queue-error-option"] = params.commit_queue_error_option
    if params.label is not None:
        query["label"] = params.label
    if params.comment is not None:
        query["comment"] = params.comment
    if params.rollback_id:
        query["rollback-id"] = "true"
    return query


_EMPTY: list[None] = [None]  # RFC 7951 encoding of a YANG "empty" leaf


def to_document(params: CommitParams) -> dict[str, Any]:  # noqa: PLR0912
    """The NSO 6.7 ``tailf-ncs-commit-params:commit-params`` JSON document."""
    doc: dict[str, Any] = {}
    if params.dry_run is not None:
        outformat = "cli-c" if params.dry_run is DryRunFormat.CLI else params.dry_run.value
        dry: dict[str, Any] = {"outformat": outformat}
        if params.dry_run_reverse:
            dry["reverse"] = _EMPTY
        doc["dry-run"] = dry
    for name, on in (
        ("no-networking", params.no_networking),
        ("no-out-of-sync-check", params.no_out_of_sync_check),
        ("no-overwrite", params.no_overwrite),
        ("no-revision-drop", params.no_revision_drop),
        ("no-deploy", params.no_deploy),
        ("reconcile", params.reconcile),
        ("use-lsa", params.use_lsa),
        ("no-lsa", params.no_lsa),
        ("rollback-id", params.rollback_id),
    ):
        if on:
            doc[name] = _EMPTY
    if params.commit_queue is not None:
        queue: dict[str, Any] = {"mode": params.commit_queue.value}
        if params.commit_queue_atomic is not None:
            queue["atomic"] = params.commit_queue_atomic
        if params.commit_queue_block_others:
            queue["block-others"] = _EMPTY
        if params.commit_queue_lock:
            queue["lock"] = _EMPTY
        if params.commit_queue_tag is not None:
            queue["tag"] = params.commit_queue_tag
        if params.commit_queue_timeout is not None:
            queue["timeout"] = params.commit_queue_timeout
        if params.commit_queue_error_option is not None:
            queue["error-option"] = params.commit_queue_error_option
        doc["commit-queue"] = queue
    if params.label is not None:
        doc["label"] = params.label
    if params.comment is not None:
        doc["comment"] = params.comment
    return doc


def to_header(params: CommitParams) -> dict[str, str]:
    """The NSO 6.7 header: base64 of the JSON commit-params document (none when empty)."""
    doc = to_document(params)
    if not doc:
        return {}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return {COMMIT_PARAMS_HEADER: base64.b64encode(raw).decode("ascii")}


def encode(
    params: CommitParams | None, encoding: CommitEncoding
) -> tuple[dict[str, str], dict[str, str]]:
    """(query parameters, headers) carrying ``params`` in the chosen encoding."""
    if params is None:
        return {}, {}
    if encoding is CommitEncoding.HEADER:
        return {}, to_header(params)
    return to_query(params), {}
