"""The peer registry: this domain as a peer, configured peers, TLS with a client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiohttp import web
from lxml import etree
from pydantic import ValidationError

from adapters.nsi_soap.provider_messages import build_sync_reply
from adapters.nsi_soap.requester_client import ProviderUnreachableError, RequesterClient
from adapters.nsi_soap.security import peer_dn_from_tls, server_ssl_context
from gateway.config import Settings
from gateway.requester.peer_settings import NsiPeer
from gateway.requester.peers import PeerRegistry, UnknownPeerError
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from tests.adapters.nsi_soap.certificates import TestCa, subject
from tests.adapters.nsi_soap.servers import serve_app

PEER = "urn:ogf:network:peer.example:2025:nsa"


def test_this_domain_is_a_peer_at_our_own_provider_endpoint() -> None:
    registry = PeerRegistry(Settings(http_port=0))
    registry.bind_http_port(8123)
    own = registry.get(registry.own_nsa)
    assert own.is_self
    assert own.config.provider_url == "http://127.0.0.1:8123/nsi/v2/provider"
    assert registry.reply_to(8123) == "http://127.0.0.1:8123/nsi/v2/requester"
    assert registry.own_nsa == Settings().nsa_id


def test_configured_peers_and_their_errors() -> None:
    settings = Settings(
        nsi_peers=[NsiPeer(nsa_id=PEER, provider_url="https://peer.example/nsi", timeout=3)],
        requester_self_peer=False,
        requester_reply_to="https://gw.example/nsi/requester",
    )
    registry = PeerRegistry(settings)
    assert [peer.nsa_id for peer in registry.all()] == [PEER]
    assert registry.get(PEER).endpoint.timeout == 3
    assert registry.reply_to(1) == "https://gw.example/nsi/requester"
    with pytest.raises(UnknownPeerError, match=f"known: {PEER}"):
        registry.get("urn:nobody")
    twice = Settings(nsi_peers=[NsiPeer(nsa_id=PEER, provider_url="http://a/")] * 2)
    with pytest.raises(ValueError, match="twice"):
        PeerRegistry(twice)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"nsa_id": PEER, "provider_url": "ftp://x"}, "http:// or https://"),
        ({"nsa_id": PEER, "provider_url": "http://x", "client_cert": "a.pem"}, "both or neither"),
        ({"nsa_id": PEER, "provider_url": "http://x", "callback_dn": "not a dn"}, "RFC 4514"),
        ({"nsa_id": PEER, "provider_url": "http://x", "colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_peer_entries_are_refused_with_the_reason(entry: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        NsiPeer.model_validate(entry)


async def test_a_peer_over_mutual_tls(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    server, ours = ca.issue("server", "localhost", server=True), ca.issue("ours", "nsgw-requester")
    seen: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(peer_dn_from_tls(request))
        root = etree.fromstring(await request.read())
        header = common_pb2.Header(
            correlation_id=root.findtext(".//correlationId") or "",
            requester_nsa="urn:ogf:network:us:nsa",
            provider_nsa=PEER,
        )
        reply = build_sync_reply("querySummarySync", header, requester_pb2.QueryConfirmedRequest())
        return web.Response(body=reply, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/nsi", handle)
    context = server_ssl_context(server.cert, server.key, ca.path)
    context.verify_mode = ssl.CERT_REQUIRED
    async with serve_app(app, ssl_context=context) as base:

        def registry(**tls: Path) -> PeerRegistry:
            peer = NsiPeer(nsa_id=PEER, provider_url=f"{base}/nsi", retries=0, timeout=5, **tls)
            return PeerRegistry(Settings(nsi_peers=[peer], requester_self_peer=False))

        good = registry(ca_file=ca.path, client_cert=ours.cert, client_key=ours.key)
        peer = good.get(PEER)
        client = RequesterClient("urn:ogf:network:us:nsa", "http://127.0.0.1:1/r", peer.http())
        reply = await client.call(peer.endpoint, "querySummarySync", provider_pb2.QueryRequest())
        assert list(reply.body.reservation) == []
        assert seen == [subject("nsgw-requester")]
        await good.close()

        without_cert = registry(ca_file=ca.path)
        peer = without_cert.get(PEER)
        client = RequesterClient("urn:ogf:network:us:nsa", "http://127.0.0.1:1/r", peer.http())
        with pytest.raises(ProviderUnreachableError):
            await client.call(peer.endpoint, "querySummarySync", provider_pb2.QueryRequest())
        await without_cert.close()


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("soap_requester_path", "nsi/requester", "must start with '/'"),
        ("requester_reply_to", "callbacks.example", "http:// or https://"),
        ("requester_confirm_timeout", 0, "greater than 0"),
    ],
)
def test_bad_requester_settings_are_refused(setting: str, value: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(**{setting: value})  # type: ignore[arg-type]
