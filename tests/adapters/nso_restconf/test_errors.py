"""Both RESTCONF error formats map to the same typed errors."""

from __future__ import annotations

import json

import pytest

from adapters.nso_restconf import errors as e


def _body(key: str, tag: str, message: str = "m", path: str = "/p") -> bytes:
    entry = {
        "error-type": "application",
        "error-tag": tag,
        "error-message": message,
        "error-path": path,
    }
    return json.dumps({key: {"error": [entry]}}).encode()


@pytest.mark.parametrize("key", ["errors", "ietf-restconf:errors"])
@pytest.mark.parametrize(
    ("status", "tag", "cls"),
    [
        (400, "invalid-value", e.BadRequest),
        (400, "malformed-message", e.BadRequest),
        (401, "access-denied", e.Unauthorized),
        (403, "access-denied", e.AccessDenied),
        (404, "invalid-value", e.NotFound),
        (409, "data-exists", e.AlreadyExists),
        (409, "in-use", e.InUse),
        (412, "", e.PreconditionFailed),
        (415, "malformed-message", e.UnsupportedMediaType),
        (500, "operation-failed", e.ServerError),
        (503, "resource-denied", e.ServiceUnavailable),
    ],
)
def test_both_formats(key: str, status: int, tag: str, cls: type[e.NsoError]) -> None:
    error = e.error_from_reply(status, _body(key, tag, "the message", "/ncs:devices"), "GET /x")
    assert type(error) is cls
    assert error.status == status
    assert error.error_tag == tag
    assert error.error_path == "/ncs:devices"
    assert "the message" in error.message
    assert "GET /x" in error.message


def test_empty_body_uses_the_status() -> None:
    error = e.error_from_reply(412, b"", "DELETE /x")
    assert isinstance(error, e.PreconditionFailed)
    assert error.details == ()
    assert "precondition failed" in error.message


def test_out_of_sync_is_its_own_class() -> None:
    body = _body("errors", "operation-failed", "Network Element Driver: device pe0: out of sync")
    error = e.error_from_reply(500, body, "PUT /x")
    assert isinstance(error, e.DeviceOutOfSync)
    assert isinstance(error, e.ServerError)


def test_retryable_flags() -> None:
    assert e.InUse("x").retryable
    assert e.ServiceUnavailable("x").retryable
    assert not e.AlreadyExists("x").retryable
    assert not e.BadRequest("x").retryable


def test_yang_patch_status_errors_are_read() -> None:
    body = {
        "ietf-yang-patch:yang-patch-status": {
            "patch-id": "p",
            "edit-status": {
                "edit": [{"edit-id": "1", "errors": {"error": [{"error-tag": "data-exists"}]}}]
            },
        }
    }
    error = e.error_from_reply(400, json.dumps(body).encode(), "PATCH /x")
    assert isinstance(error, e.AlreadyExists)


def test_error_entry_as_object_and_garbage() -> None:
    single = json.dumps({"errors": {"error": {"error-tag": "in-use"}}}).encode()
    assert isinstance(e.error_from_reply(409, single, "x"), e.InUse)
    assert e.parse_error_details(["not", "a", "dict"]) == ()
    assert e.parse_error_details({"errors": "nope"}) == ()
