"""Sending SOAP callbacks: what each outcome of the receiver means for the outbox."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiohttp import web

from adapters.nsi_soap.delivery import RefusedError, RetryLaterError, create_sender
from adapters.nsi_soap.security import client_ssl_context
from tests.adapters.nsi_soap.certificates import TestCa
from tests.adapters.nsi_soap.servers import ACK, serve_app

FAULT = (
    b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault>'
    b"<faultcode>S:Client</faultcode><faultstring>no</faultstring></S:Fault></S:Body></S:Envelope>"
)


def app_answering(status: int, body: bytes, seen: list[dict[str, str]]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(status=status, body=body)

    app = web.Application()
    app.router.add_post("/requester", handle)
    return app


async def test_delivered_with_soap_action_and_content_type() -> None:
    seen: list[dict[str, str]] = []
    sender = create_sender(timeout=5)
    async with serve_app(app_answering(200, ACK, seen)) as base:
        await sender.send(f"{base}/requester", b"<x/>", {"soap_action": '"urn:a"'})
    await sender.aclose()
    assert seen[0]["SOAPAction"] == '"urn:a"'
    assert seen[0]["Content-Type"] == "text/xml; charset=utf-8"


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (503, b"busy", RetryLaterError),
        (429, b"slow down", RetryLaterError),
        (500, FAULT, RefusedError),
        (404, b"no such endpoint", RefusedError),
    ],
)
async def test_outcomes(status: int, body: bytes, outcome: type[Exception]) -> None:
    sender = create_sender(timeout=5)
    async with serve_app(app_answering(status, body, [])) as base:
        with pytest.raises(outcome, match=f"HTTP {status}"):
            await sender.send(f"{base}/requester", b"<x/>", {})
    await sender.aclose()


async def test_nobody_listening_is_retry_later() -> None:
    sender = create_sender(timeout=5)
    with pytest.raises(RetryLaterError):
        await sender.send("http://127.0.0.1:1/requester", b"<x/>", {})
    await sender.aclose()


async def test_reply_to_that_is_not_http_is_refused() -> None:
    sender = create_sender(timeout=5)
    with pytest.raises(RefusedError, match="not an http"):
        await sender.send("file:///etc/passwd", b"<x/>", {})
    await sender.aclose()


async def test_callback_over_tls_with_a_client_certificate(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    server = ca.issue("server", "localhost", server=True)
    client = ca.issue("client", "our-proxy")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.cert, server.key)
    context.load_verify_locations(cafile=str(ca.path))
    context.verify_mode = ssl.CERT_REQUIRED  # the requester insists on a client certificate
    seen: list[dict[str, str]] = []
    async with serve_app(app_answering(200, ACK, seen), context) as base:
        with_cert = create_sender(
            timeout=5, verify=client_ssl_context(ca.path, client.cert, client.key)
        )
        await with_cert.send(f"{base}/requester", b"<x/>", {})
        await with_cert.aclose()
        without = create_sender(timeout=5, verify=client_ssl_context(ca.path))
        with pytest.raises(RetryLaterError):
            await without.send(f"{base}/requester", b"<x/>", {})
        await without.aclose()
    assert len(seen) == 1
