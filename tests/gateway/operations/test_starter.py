"""The common fields of every mutating call: request_id, callback_url, progress_url."""

from __future__ import annotations

import grpc
import pytest

from gateway.db import Database
from gateway.operations.engine import OperationEngine
from gateway.operations.errors import ApiError
from gateway.operations.starter import OperationStarter


def validate(starter: OperationStarter, **fields: str) -> None:
    values = {"request_id": "", "callback_url": "", "progress_url": "", **fields}
    starter.validate(values["request_id"], values["callback_url"], values["progress_url"])


def violations(starter: OperationStarter, **fields: str) -> list[tuple[str, str]]:
    with pytest.raises(ApiError) as refused:
        validate(starter, **fields)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return refused.value.field_violations


@pytest.fixture
def starter() -> OperationStarter:
    return OperationStarter(OperationEngine(Database("sqlite://")))


def test_good_fields_pass(starter: OperationStarter) -> None:
    validate(
        starter,
        request_id="wf-1/step-2",
        callback_url="https://127.0.0.1:8443/cb?job=1",
        progress_url="http://localhost/p",
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"request_id": "x" * 129}, "request_id", "at most 128"),
        ({"request_id": "a\nb"}, "request_id", "printable"),
        ({"callback_url": "ftp://127.0.0.1/x"}, "callback_url", "http:// or https://"),
        ({"callback_url": "/relative"}, "callback_url", "absolute"),
        ({"progress_url": "http://127.0.0.1:port/"}, "progress_url", "not a valid URL"),
    ],
)
def test_bad_fields_are_named(
    starter: OperationStarter, fields: dict[str, str], field: str, words: str
) -> None:
    [(name, description)] = violations(starter, **fields)
    assert name == field
    assert words in description


def test_callbacks_only_go_to_allowed_hosts() -> None:
    engine = OperationEngine(Database("sqlite://"))
    starter = OperationStarter(engine, ["localhost", "*.workflows.example"])
    validate(starter, callback_url="http://localhost/cb")
    validate(starter, callback_url="https://a.workflows.example/cb")
    [(field, description)] = violations(starter, progress_url="http://127.0.0.1/cb")
    assert field == "progress_url"
    assert "host 127.0.0.1 is not one callbacks may go to" in description
    assert violations(starter, callback_url="https://evilworkflows.example/cb")
