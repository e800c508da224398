"""A running gateway with the operations API and test jobs, for the API commands' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.access.tokens import ApiToken, hash_token
from tests.gateway.operations.harness import Gates, Running, gateway_settings, running_gateway

TOKEN = "cli-token-0123456789abcdef"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def running(tmp_path: Path, gates: Gates) -> AsyncIterator[Running]:
    """The gateway, accepting the API token TOKEN."""
    settings = gateway_settings(
        tmp_path, api_tokens=[ApiToken(name="cli", sha256=hash_token(TOKEN))]
    )
    async with running_gateway(settings, gates) as run:
        yield run
