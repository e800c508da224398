"""Mutual TLS and the subject DN allow-list, with certificates made by the tests."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree

from adapters.nsi_soap.namespaces import soap_action
from adapters.nsi_soap.provider_messages import build_provider_request
from adapters.nsi_soap.requester_service import RequestMemory
from adapters.nsi_soap.security import InvalidDnError, PeerPolicy, canonical_dn, server_ssl_context
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.certificates import Issued, TestCa, subject
from tests.adapters.nsi_soap.provider_double import RecordingProvider, serve_provider
from tests.adapters.nsi_soap.requests import provider_requests
from tests.adapters.nsi_soap.schemas import NsiSchemas
from tests.adapters.nsi_soap.servers import serve_app
from tests.adapters.nsi_soap.test_provider_endpoint import build_endpoint


def test_dn_comparison_follows_rfc_4514() -> None:
    assert canonical_dn("CN=Requester A,O=Example Net,C=NL") == canonical_dn(
        "cn=requester  a, o=EXAMPLE NET,c=nl"
    )
    assert canonical_dn("CN=a,O=b") != canonical_dn("O=b,CN=a")  # RDN order matters
    assert canonical_dn("CN=a\\,b,O=c") != canonical_dn("CN=a,O=c")
    with pytest.raises(InvalidDnError):
        canonical_dn("no equals sign")


@dataclass
class Tls:
    ca: TestCa
    server: Issued
    allowed: Issued
    bound_elsewhere: Issued
    unknown: Issued


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    directory: Path = tmp_path_factory.mktemp("pki")
    ca = TestCa(directory)
    return Tls(
        ca,
        ca.issue("server", "localhost", server=True),
        ca.issue("allowed", "requester-a"),
        ca.issue("bound", "requester-b"),
        ca.issue("unknown", "stranger"),
    )


@dataclass
class Endpoint:
    url: str
    provider: RecordingProvider
    ca: Path

    async def post(self, client_cert: Issued | None) -> httpx.Response:
        context = ssl.create_default_context(cafile=str(self.ca))
        if client_cert is not None:
            context.load_cert_chain(client_cert.cert, client_cert.key)
        request = provider_requests()["provision"]
        async with httpx.AsyncClient(verify=context) as client:
            return await client.post(
                self.url,
                content=build_provider_request("provision", request),
                headers={"SOAPAction": soap_action("provision")},
            )


@pytest.fixture
async def endpoint(tls: Tls) -> AsyncIterator[Endpoint]:
    policy = PeerPolicy(
        allowed_dns=[
            # written differently from the certificate on purpose
            "cn=requester-a, o=example net, c=NL",
            subject("requester-b"),
        ],
        nsa_bindings={subject("requester-b"): ["urn:ogf:network:someone-else:2025:nsa"]},
        require_certificate=True,
    )
    provider = RecordingProvider()
    async with serve_provider(provider) as target:
        app, close = build_endpoint(target, RequestMemory(), policy)
        context = server_ssl_context(tls.server.cert, tls.server.key, tls.ca.path)
        async with serve_app(app, context) as base:
            yield Endpoint(f"{base}/nsi/v2/provider", provider, tls.ca.path)
        await close()


def error_of(response: httpx.Response, schemas: NsiSchemas) -> tuple[str, str]:
    assert response.status_code == 500
    root = schemas.check(response.content)
    exception = root.find(".//{*}serviceException")
    assert exception is not None
    return exception.findtext("errorId", ""), exception.findtext("text", "")


async def test_allowed_dn_goes_through(endpoint: Endpoint, tls: Tls) -> None:
    response = await endpoint.post(tls.allowed)
    assert response.status_code == 200
    assert etree.fromstring(response.content).find(".//{*}acknowledgment") is not None
    assert [method for method, _ in endpoint.provider.calls] == ["Provision"]


async def test_unknown_dn_is_00302(endpoint: Endpoint, tls: Tls, nsi_schemas: NsiSchemas) -> None:
    error_id, text = error_of(await endpoint.post(tls.unknown), nsi_schemas)
    assert error_id == "00302"
    assert "CN=stranger" in text
    assert endpoint.provider.calls == []


async def test_dn_not_bound_to_the_claimed_nsa_is_00302(
    endpoint: Endpoint, tls: Tls, nsi_schemas: NsiSchemas
) -> None:
    error_id, text = error_of(await endpoint.post(tls.bound_elsewhere), nsi_schemas)
    assert error_id == "00302"
    assert samples.REQUESTER_NSA in text
    assert endpoint.provider.calls == []


async def test_no_certificate_is_00302(endpoint: Endpoint, nsi_schemas: NsiSchemas) -> None:
    error_id, text = error_of(await endpoint.post(None), nsi_schemas)
    assert error_id == "00302"
    assert "no client certificate" in text
    assert endpoint.provider.calls == []


async def test_dn_from_a_trusted_ingress_header(nsi_schemas: NsiSchemas) -> None:
    policy = PeerPolicy(allowed_dns=[subject("requester-a")], dn_header="X-Client-DN")
    provider = RecordingProvider()
    async with serve_provider(provider) as target:
        app, close = build_endpoint(target, RequestMemory(), policy)
        async with serve_app(app) as base, httpx.AsyncClient() as client:
            data = build_provider_request("provision", provider_requests()["provision"])
            url = f"{base}/nsi/v2/provider"
            allowed = await client.post(
                url, content=data, headers={"X-Client-DN": subject("requester-a")}
            )
            refused = await client.post(url, content=data, headers={"X-Client-DN": subject("x")})
            missing = await client.post(url, content=data)
        await close()
    assert allowed.status_code == 200
    assert error_of(refused, nsi_schemas)[0] == "00302"
    assert error_of(missing, nsi_schemas)[0] == "00302"
    assert len(provider.calls) == 1
