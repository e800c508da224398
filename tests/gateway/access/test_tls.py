"""TLS and mutual TLS on the gRPC port, with certificates made for the test."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from gateway.access.tls import server_credentials
from gateway.client import ApiCallError, NsgwClient, TlsOptions
from gateway.config import ConfigError
from tests.gateway.access.certs import make_pki
from tests.gateway.operations.harness import Gates, gateway_settings, running_gateway, start_job


async def test_mutual_tls_identifies_the_caller_by_its_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    settings = gateway_settings(
        tmp_path,
        grpc_tls_cert=pki.write("server.pem", pki.server.cert),
        grpc_tls_key=pki.write("server.key", pki.server.key),
        grpc_tls_client_ca=pki.write("ca.pem", pki.ca.cert),
    )
    async with running_gateway(settings, Gates()) as run:
        tls = TlsOptions(ca=pki.ca.cert, cert=pki.client.cert, key=pki.client.key)
        async with NsgwClient(run.target, tls=tls) as client:
            op = await start_job(client.channel, target="pe1", request_id="tls-1")
            done = await client.operations.wait(op.name)
        assert "CN=workflow-engine" in done.caller
        audit = await run.component.audit.recent()
        assert "CN=workflow-engine" in audit[0].caller

        # No client certificate, or one from another CA: no connection at all.
        for bad in (
            TlsOptions(ca=pki.ca.cert),
            TlsOptions(ca=pki.ca.cert, cert=pki.stranger.cert, key=pki.stranger.key),
        ):
            async with NsgwClient(run.target, tls=bad) as client:
                with pytest.raises(ApiCallError) as refused:
                    await client.operations.list()
                assert refused.value.code == grpc.StatusCode.UNAVAILABLE

        # Plaintext is not served on a TLS port.
        async with NsgwClient(run.target) as client:
            with pytest.raises(ApiCallError):
                await client.operations.list()


async def test_server_only_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    settings = gateway_settings(
        tmp_path,
        grpc_tls_cert=pki.write("server.pem", pki.server.cert),
        grpc_tls_key=pki.write("server.key", pki.server.key),
    )
    async with (
        running_gateway(settings, Gates()) as run,
        NsgwClient(run.target, tls=TlsOptions(ca=pki.ca.cert)) as client,
    ):
        op = await start_job(client.channel, target="pe1", request_id="tls-2")
        assert op.caller == "anonymous"


def test_incomplete_tls_settings_are_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    cert = pki.write("server.pem", pki.server.cert)
    with pytest.raises(ConfigError, match="must be set together"):
        server_credentials(gateway_settings(tmp_path, grpc_tls_cert=cert))
    with pytest.raises(ConfigError, match="grpc_tls_client_ca needs"):
        server_credentials(gateway_settings(tmp_path, grpc_tls_client_ca=cert))
    with pytest.raises(ConfigError, match="cannot read"):
        server_credentials(
            gateway_settings(tmp_path, grpc_tls_cert=cert, grpc_tls_key=tmp_path / "missing.key")
        )
