"""``nsgw tokens hash``: the hash of a token read from stdin."""

from __future__ import annotations

import hashlib

from typer.testing import CliRunner

from gateway.cli import app


def test_hash_prints_the_sha256_of_the_token_on_stdin() -> None:
    token = "a-long-random-token-value"
    result = CliRunner().invoke(app, ["tokens", "hash"], input=f"{token}\n")
    assert result.exit_code == 0
    assert result.output.strip() == hashlib.sha256(token.encode()).hexdigest()
    assert token not in result.output


def test_hash_prints_a_ready_config_entry() -> None:
    result = CliRunner().invoke(app, ["tokens", "hash", "--name", "wf"], input="x" * 32)
    digest = hashlib.sha256(b"x" * 32).hexdigest()
    assert result.output.strip() == f'{{ name = "wf", sha256 = "{digest}" }}'


def test_empty_or_short_tokens_are_refused() -> None:
    assert CliRunner().invoke(app, ["tokens", "hash"], input="").exit_code == 2
    short = CliRunner().invoke(app, ["tokens", "hash"], input="abc\n")
    assert short.exit_code == 2
    assert "too short" in short.output
