"""API tokens are configured as hashes and recognised in constant time."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.access.tokens import ApiToken, TokenVerifier, hash_token
from gateway.config import ConfigError, load_settings


def test_a_configured_token_is_recognised_by_its_hash_only() -> None:
    verifier = TokenVerifier(
        [ApiToken(name="workflows", sha256=hash_token("s3cret-token-value-1"))]
    )
    assert verifier.enabled
    assert verifier.identify("s3cret-token-value-1") == "workflows"
    assert verifier.identify("s3cret-token-value-2") is None
    assert verifier.identify("") is None


def test_a_hash_that_is_not_a_sha256_hex_digest_is_refused() -> None:
    with pytest.raises(ValidationError, match="nsgw tokens hash"):
        ApiToken(name="x", sha256="not-a-hash")


def test_tokens_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hash_token("another-long-token")
    monkeypatch.setenv("NSGW_API_TOKENS", f'[{{"name": "ci", "sha256": "{digest.upper()}"}}]')
    settings = load_settings()
    assert settings.api_tokens == [ApiToken(name="ci", sha256=digest)]
    monkeypatch.setenv("NSGW_API_TOKENS", '[{"name": "ci", "sha256": "abc"}]')
    with pytest.raises(ConfigError, match="api_tokens"):
        load_settings()
