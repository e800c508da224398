"""CommitParams: combinations refused before sending, and both encodings."""

from __future__ import annotations

import base64
import json

import pytest

from adapters.nso_restconf import (
    CommitEncoding,
    CommitParams,
    CommitParamsError,
    CommitQueueMode,
    DryRunFormat,
    encoding_for_version,
)
from adapters.nso_restconf.commit import COMMIT_PARAMS_HEADER, encode, to_query


@pytest.mark.parametrize(
    "values",
    [
        {"dry_run": "cli", "commit_queue": "async"},
        {"dry_run": "native", "no_overwrite": True},
        {"dry_run": "xml", "no_out_of_sync_check": True},
        {"dry_run_reverse": True},
        {"use_lsa": True, "no_lsa": True},
        {"commit_queue_tag": "t"},
        {"commit_queue": "bypass", "commit_queue_atomic": True},
        {"commit_queue_timeout": -1, "commit_queue": "async"},
        {"unknown_flag": True},
    ],
)
def test_invalid_combinations_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(CommitParamsError, match="invalid commit parameters"):
        CommitParams.build(**values)


def test_query_encoding() -> None:
    params = CommitParams(
        dry_run=DryRunFormat.NATIVE,
        dry_run_reverse=True,
        no_networking=True,
        label="l",
        comment="c",
    )
    assert to_query(params) == {
        "dry-run": "native",
        "dry-run-reverse": "",
        "no-networking": "",
        "label": "l",
        "comment": "c",
    }
    queue = CommitParams(
        commit_queue=CommitQueueMode.SYNC,
        commit_queue_atomic=False,
        commit_queue_timeout=30,
        commit_queue_error_option="rollback-on-error",
        rollback_id=True,
    )
    assert to_query(queue) == {
        "commit-queue": "sync",
        "commit-queue-atomic": "false",
        "commit-queue-timeout": "30",
        "commit-queue-error-option": "rollback-on-error",
        "rollback-id": "true",
    }


def test_header_encoding() -> None:
    params = CommitParams(dry_run=DryRunFormat.CLI, label="x")
    query, headers = encode(params, CommitEncoding.HEADER)
    assert query == {}
    doc = json.loads(base64.b64decode(headers[COMMIT_PARAMS_HEADER]))
    assert doc == {"dry-run": {"outformat": "cli-c"}, "label": "x"}
    assert encode(CommitParams(), CommitEncoding.HEADER) == ({}, {})
    assert encode(None, CommitEncoding.QUERY) == ({}, {})


@pytest.mark.parametrize(
    ("version", "encoding"),
    [("5.8", "query"), ("6.4", "query"), ("6.6.2", "query"), ("6.7", "header"), ("7.1", "header")],
)
def test_encoding_by_version(version: str, encoding: str) -> None:
    assert encoding_for_version(version) == encoding


def test_bad_version() -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR"):
        encoding_for_version("latest")
