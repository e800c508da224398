"""One configured NSI provider (an entry of the ``nsi_peers`` setting)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.nsi_soap.distinguished_names import InvalidDnError, canonical_dn


class NsiPeer(BaseModel):
    """An NSI provider: its NSA id, SOAP provider URL and how to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nsa_id: str = Field(min_length=1, description="the provider's NSA id (providerNSA)")
    provider_url: str = Field(description="its SOAP provider endpoint, http:// or https://")
    ca_file: Path | None = Field(None, description="CA that signed its server certificate")
    client_cert: Path | None = Field(None, description="our client certificate for it (PEM)")
    client_key: Path | None = Field(None, description="key of client_cert")
    timeout: float = Field(30.0, gt=0, description="seconds per request")
    retries: int = Field(2, ge=0, description="re-sends (same correlationId) of a lost request")
    confirm_timeout: float | None = Field(
        None, gt=0, description="seconds to wait for its confirmations; unset: the global one"
    )
    callback_dn: str = Field(
        "", description="subject DN its callbacks must come with (mutual TLS); empty: any"
    )

    @field_validator("provider_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("callback_dn")
    @classmethod
    def _dn(cls, value: str) -> str:
        if value:
            try:
                canonical_dn(value)
            except InvalidDnError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _pairs(self) -> NsiPeer:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together (both or neither)")
        return self
