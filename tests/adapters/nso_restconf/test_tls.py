"""TLS to NSO: CA verification, verification off, and client certificates."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.nso_restconf import NsoClient, NsoConfig, NsoConnectionError
from adapters.nso_restconf.simulator import SimulatorServer, build_state


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("test CA", ca_key, None, ca=True)
    _write(root / "ca", ca, ca_key)
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(root / name, _issue(name, key, (ca.subject, ca_key)), key)
    return root


@pytest.fixture
async def tls_sim(pki: Path) -> AsyncIterator[SimulatorServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    context.verify_mode = ssl.CERT_OPTIONAL  # client certificates checked when sent
    server = SimulatorServer(build_state(), ssl_context=context)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _device_names(config: NsoConfig) -> list[str]:
    async with NsoClient(config) as nso:
        return [d.name for d in await nso.devices.all()]


async def test_verified_with_the_ca_file(tls_sim: SimulatorServer, pki: Path) -> None:
    config = NsoConfig(url=tls_sim.url, password="admin", ca_file=pki / "ca.crt")
    assert tls_sim.url.startswith("https://")
    assert await _device_names(config) == ["pe0", "pe1", "ce0", "ce1"]


async def test_unknown_ca_is_refused(tls_sim: SimulatorServer) -> None:
    config = NsoConfig(url=tls_sim.url, password="admin", retries=0)
    with pytest.raises(NsoConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await _device_names(config)


async def test_verification_off(tls_sim: SimulatorServer) -> None:
    config = NsoConfig(url=tls_sim.url, password="admin", verify_tls=False)
    assert len(await _device_names(config)) == 4


async def test_client_certificate_is_presented(tls_sim: SimulatorServer, pki: Path) -> None:
    tls_sim.ssl_context.verify_mode = ssl.CERT_REQUIRED  # type: ignore[union-attr]
    config = NsoConfig(
        url=tls_sim.url,
        password="admin",
        ca_file=pki / "ca.crt",
        client_cert=pki / "client.crt",
        client_key=pki / "client.key",
    )
    assert len(await _device_names(config)) == 4
    without = NsoConfig(url=tls_sim.url, password="admin", ca_file=pki / "ca.crt", retries=0)
    with pytest.raises(NsoConnectionError):
        await _device_names(without)
