"""Client configuration: where NSO is, who we are, and how patient to be."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from adapters.nso_restconf.commit import CommitEncoding, encoding_for_version


class NsoConfig(BaseModel):
    """Everything :class:`~adapters.nso_restconf.client.NsoClient` needs; secrets stay secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="NSO base URL, e.g. https://nso.example.net:8888")
    username: str = "admin"
    password: SecretStr = SecretStr("")
    token: SecretStr | None = Field(None, description="X-Auth-Token sent instead of Basic auth")
    root: str = Field("/restconf", description="RESTCONF root")
    nso_version: str = Field("6.4", description="selects the commit-parameter encoding")
    verify_tls: bool = True
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    timeout: float = Field(30.0, gt=0, description="read timeout (seconds)")
    connect_timeout: float = Field(5.0, gt=0)
    write_timeout: float = Field(30.0, gt=0)
    pool_timeout: float = Field(30.0, gt=0, description="wait for a free connection")
    max_concurrency: int = Field(20, ge=1, description="requests in flight at once")
    retries: int = Field(2, ge=0, description="retries of a retry-safe failure")
    backoff: float = Field(0.2, ge=0, description="first retry delay; doubles, with jitter")
    max_backoff: float = Field(5.0, ge=0)
    stats_modules: dict[str, str] = Field(
        default_factory=dict,
        description="device name -> NED stats module for live-status exec (else derived)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not contain credentials; use username/password")
        return value.rstrip("/")

    @field_validator("nso_version")
    @classmethod
    def _version(cls, value: str) -> str:
        encoding_for_version(value)
        return value

    @property
    def commit_encoding(self) -> CommitEncoding:
        return encoding_for_version(self.nso_version)

    @property
    def restconf_url(self) -> str:
        return self.url + "/" + self.root.strip("/")
