"""API tokens: configured as (name, SHA-256 of the token), never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ApiToken(BaseModel):
    """One accepted token: who holds it and the SHA-256 (hex) of its value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="the caller's identity")
    sha256: str = Field(description="hex SHA-256 of the token (nsgw tokens hash)")

    @field_validator("sha256")
    @classmethod
    def _is_hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX64.match(value):
            raise ValueError("sha256 must be 64 hex digits: the output of `nsgw tokens hash`")
        return value


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, as configured in ``api_tokens``."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


class TokenVerifier:
    """Finds the name of the token a caller presented, comparing in constant time."""

    def __init__(self, tokens: Iterable[ApiToken]) -> None:
        self._tokens = [(t.name, bytes.fromhex(t.sha256)) for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def identify(self, presented: str) -> str | None:
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for name, expected in self._tokens:
            if hmac.compare_digest(digest, expected):
                found = name
        return found
