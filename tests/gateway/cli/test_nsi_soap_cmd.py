"""``nsgw nsi-soap dn``: the subject DN of a peer certificate, checked against the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.adapters.nsi_soap.certificates import TestCa, subject


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    return TestCa(tmp_path).issue("peer", "requester-a").cert


def test_prints_the_dn_and_whether_it_is_allowed(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("NSGW_SOAP_ALLOWED_DNS", f'["{subject("requester-a").lower()}"]')
    result = runner.invoke(app, ["nsi-soap", "dn", str(certificate)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [subject("requester-a"), "allowed by soap_allowed_dns"]
    monkeypatch.setenv("NSGW_SOAP_ALLOWED_DNS", '["CN=someone else"]')
    result = runner.invoke(app, ["nsi-soap", "dn", str(certificate)])
    assert result.output.splitlines()[1] == "NOT in soap_allowed_dns"


def test_not_a_certificate_is_a_one_line_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    result = CliRunner().invoke(app, ["nsi-soap", "dn", str(junk)])
    assert result.exit_code == 2
    assert "is not a PEM certificate" in result.output
