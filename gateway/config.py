"""Settings: one flat, typed model read from defaults, a TOML file and ``NSGW_*`` variables.

Precedence, highest first: explicit overrides (command-line flags), environment
variables ``NSGW_<NAME>``, the config file given with ``--config``, defaults.
Every setting has an embedded default, so ``nsgw serve`` runs with none given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adapters.nsi_soap.distinguished_names import canonical_dn
from gateway.access.tokens import ApiToken
from gateway.requester.peer_settings import NsiPeer

ENV_PREFIX = "NSGW_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting at fault."""


class Settings(BaseSettings):
    """Every setting of nsgw.  Field names are the keys of the config file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
    )

    # --- the process -------------------------------------------------------
    grpc_host: str = Field("127.0.0.1", description="address the gRPC server listens on")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port (0: any free port)")
    http_host: str = Field("127.0.0.1", description="address the HTTP server listens on")
    http_port: int = Field(8080, ge=0, le=65535, description="HTTP port (0: any free port)")
    state_dir: Path = Field(Path("var"), description="directory for state (SQLite database)")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the state database; empty: SQLite in state_dir",
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="console: human readable; json: one JSON object per line"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="lowest level logged"
    )
    shutdown_grace: float = Field(
        10.0, gt=0, description="seconds in-flight calls get to finish on SIGINT/SIGTERM"
    )

    outbox_give_up_after: float = Field(
        3600.0, gt=0, description="seconds after which an undeliverable callback is given up"
    )
    outbox_max_retry_delay: float = Field(
        60.0, gt=0, description="longest wait between two delivery attempts of a callback"
    )

    # --- NSI SOAP proxy (NSI CS v2 over SOAP for peer domains, gRPC inside) ---
    soap_provider_path: str = Field(
        "/nsi/v2/provider", description="HTTP path of the NSI provider SOAP endpoint"
    )
    soap_provider_target: str = Field(
        "",
        description="gRPC host:port of the ConnectionProvider the proxy calls; "
        "empty: the agent of this process, called directly",
    )
    soap_provider_tls_ca: Path | None = Field(
        None, description="CA file to verify the ConnectionProvider's TLS certificate; unset: plain"
    )
    soap_grpc_deadline: float = Field(
        10.0, gt=0, description="seconds the proxy waits for the ConnectionProvider to answer"
    )
    soap_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="largest SOAP request accepted, in bytes"
    )
    soap_max_depth: int = Field(
        64, ge=8, description="deepest element nesting accepted in a SOAP request"
    )
    soap_tls_cert: Path | None = Field(
        None, description="server certificate (PEM); with soap_tls_key: HTTPS on the HTTP server"
    )
    soap_tls_key: Path | None = Field(None, description="server private key file (PEM)")
    soap_tls_key_password: SecretStr = Field(
        SecretStr(""), description="password of soap_tls_key, if it is encrypted"
    )
    soap_tls_ca: Path | None = Field(
        None, description="CA file of accepted client certificates (mutual TLS)"
    )
    soap_allowed_dns: list[str] = Field(
        default_factory=list,
        description="subject DNs (RFC 4514) allowed to call the provider endpoint; empty: any",
    )
    soap_dn_header: str = Field(
        "",
        description="header carrying the client DN, set by a trusted TLS ingress; empty: off",
    )
    soap_dn_nsa_bindings: dict[str, list[str]] = Field(
        default_factory=dict,
        description="subject DN -> requesterNSA ids that DN may claim (unbound DNs: any)",
    )
    soap_callback_client_cert: Path | None = Field(
        None, description="client certificate (PEM) presented on outbound SOAP callbacks"
    )
    soap_callback_client_key: Path | None = Field(
        None, description="private key of soap_callback_client_cert"
    )
    soap_callback_ca: Path | None = Field(
        None, description="CA file to verify requesters' HTTPS endpoints; unset: system CAs"
    )
    soap_callback_timeout: float = Field(
        30.0, gt=0, description="seconds one SOAP callback delivery attempt may take"
    )
    soap_callback_give_up_after: float = Field(
        3600.0, gt=0, description="seconds after which an undeliverable SOAP callback is given up"
    )
    soap_provider_nsa: str = Field(
        "", description="NSA id named in the faults the proxy raises itself; empty: nsa_id"
    )
    soap_request_retention: float = Field(
        30 * 86400.0,
        gt=0,
        description="seconds the header extensions of a request are kept for its callbacks",
    )

    @field_validator("soap_provider_path")
    @classmethod
    def _soap_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value

    @field_validator("soap_allowed_dns")
    @classmethod
    def _soap_dns(cls, value: list[str]) -> list[str]:
        for dn in value:
            canonical_dn(dn)  # raises a ValueError naming the DN
        return value

    @field_validator("soap_dn_nsa_bindings")
    @classmethod
    def _soap_bindings(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for dn in value:
            canonical_dn(dn)
        return value

    @field_validator("soap_tls_key", "soap_callback_client_key", "soap_tls_ca")
    @classmethod
    def _soap_pairs(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        partner = {
            "soap_tls_key": "soap_tls_cert",
            "soap_callback_client_key": "soap_callback_client_cert",
            "soap_tls_ca": "soap_tls_cert",
        }[str(info.field_name)]
        if (value is None) != (info.data.get(partner) is None) and not (
            info.field_name == "soap_tls_ca" and value is None
        ):
            raise ValueError(f"needs {partner} (both or neither)")
        return value

    # --- NSO adapter (RESTCONF client; embedded simulator when nso_url is empty)
    nso_url: str = Field(
        "",
        description="NSO base URL, e.g. https://nso.example.net:8888; empty: run the "
        "embedded NSO simulator on 127.0.0.1:nso_sim_port and use it",
    )
    nso_username: str = Field("admin", description="NSO user (Basic auth)")
    nso_password: SecretStr = Field(SecretStr(""), description="NSO password")
    nso_version: str = Field(
        "6.4", description="NSO version MAJOR.MINOR; 6.7+ takes commit parameters in a header"
    )
    nso_verify_tls: bool = Field(True, description="verify NSO's TLS certificate")
    nso_ca_file: Path | None = Field(None, description="CA bundle for NSO's certificate")
    nso_client_cert: Path | None = Field(None, description="client certificate (PEM) for NSO")
    nso_client_key: Path | None = Field(None, description="key of the client certificate")
    nso_timeout: float = Field(30.0, gt=0, description="seconds to wait for an NSO reply")
    nso_max_concurrency: int = Field(20, ge=1, description="NSO requests in flight at once")
    nso_retries: int = Field(2, ge=0, description="retries of retry-safe NSO failures")
    nso_sim_port: int = Field(
        8888, ge=0, le=65535, description="port of the embedded NSO simulator (no nso_url)"
    )

    # --- Orchestrator API (nsgw.v1: operations, access) ------------------------
    grpc_tls_cert: Path | None = Field(
        None, description="PEM certificate (chain) of the gRPC port; with grpc_tls_key: TLS"
    )
    grpc_tls_key: Path | None = Field(None, description="PEM private key of grpc_tls_cert")
    grpc_tls_client_ca: Path | None = Field(
        None, description="PEM CA bundle; when set, gRPC clients need a certificate (mTLS)"
    )
    api_tokens: list[ApiToken] = Field(
        default_factory=list,
        description=(
            "accepted API tokens as [{name, sha256}] (sha256 from `nsgw tokens hash`); "
            "empty: the nsgw.v1 API is open on a loopback grpc_host only"
        ),
    )
    operations_callback_timeout: float = Field(
        10.0, gt=0, description="seconds a callback/progress POST may take before it is retried"
    )
    operations_callback_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "hosts callback_url/progress_url may point at ('name' or '*.domain'); empty: any"
        ),
    )
    operations_retention_days: float = Field(
        30.0, gt=0, description="days an ended operation stays listed before it is deleted"
    )
    operations_callback_give_up_after: float = Field(
        86400.0,
        gt=0,
        description="seconds after which an undeliverable operation callback is dropped",
    )

    # --- NSI provider agent (gateway/agent, docs/nsi-agent.md) -------------
    nsa_id: str = Field(
        "urn:ogf:network:example.net:2025:nsa:nsgw",
        description="NSA id of the provider agent (providerNSA of the requests it accepts)",
    )
    network_id: str = Field(
        "example.net:2025:topology",
        description="NSI network id of this domain's STPs (urn:ogf:network:<network_id>:<port>)",
    )
    agent_requester_target: str = Field(
        "",
        description="gRPC host:port of the ConnectionRequester that receives callbacks; "
        "empty: the SOAP proxy of this process, called directly",
    )
    agent_backend: str = Field(
        "null", description="what reservations do to the network: null or nso"
    )
    reserve_hold_timeout: float = Field(
        120.0, gt=0, description="seconds a held reservation waits for commit or abort"
    )
    agent_topology_file: Path | None = Field(
        None, description="TOML file of STPs loaded (added or updated) when the agent starts"
    )
    label_swapping: bool = Field(
        False, description="whether the two ends of a connection may use different VLANs"
    )
    callback_give_up_after: float = Field(
        3600.0,
        gt=0,
        description="seconds after which an undeliverable NSI callback is given up "
        "(messageDeliveryTimeout)",
    )
    agent_callback_deadline: float = Field(
        10.0, gt=0, description="seconds one ConnectionRequester call may take"
    )
    agent_health_interval: float = Field(
        60.0, gt=0, description="seconds between backend health checks of active connections"
    )
    agent_nsa_name: str = Field("nsgw", description="name shown in the NSA discovery document")
    agent_soap_provider_url: str = Field(
        "",
        description="NSI CS SOAP provider URL announced in the discovery document; "
        "empty: <agent_public_url><soap_provider_path>",
    )
    agent_public_url: str = Field(
        "",
        description="base URL peers use for this gateway's HTTP endpoints (discovery "
        "document links); empty: http://<http_host>:<http_port>",
    )

    # --- NSI requester (connections at NSI providers, ours and peers') --------
    nsi_peers: list[NsiPeer] = Field(
        default_factory=list,
        description=(
            "NSI providers we reserve at, as [{nsa_id, provider_url, ca_file, client_cert, "
            "client_key, timeout, retries, callback_dn}]; this domain's own provider is added "
            "automatically unless listed"
        ),
    )
    requester_nsa_id: str = Field(
        "", description="our requesterNSA id; empty: nsa_id (this domain's NSA id)"
    )
    soap_requester_path: str = Field(
        "/nsi/v2/requester", description="HTTP path of the NSI requester (callback) endpoint"
    )
    requester_reply_to: str = Field(
        "",
        description="replyTo URL peers send callbacks to; empty: "
        "http://<http_host>:<http_port><soap_requester_path>",
    )
    requester_confirm_timeout: float = Field(
        60.0, gt=0, description="seconds to wait for a confirmation before the operation fails"
    )
    requester_reconcile_on_start: bool = Field(
        True, description="query every open connection's provider when nsgw starts"
    )
    requester_self_peer: bool = Field(
        True, description="register this domain's own provider endpoint as a peer"
    )

    @field_validator("soap_requester_path")
    @classmethod
    def _requester_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value

    @field_validator("requester_reply_to")
    @classmethod
    def _reply_to(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    # --- NSO backend (agent_backend = "nso"; docs/nso-backend.md) -------------
    nso_backend_service_path: str = Field(
        "l2vlan:l2vlan={name}",
        description="RESTCONF data path of a reservation's service instance; {name} is the "
        "instance name (the connection id)",
    )
    nso_backend_template: str = Field(
        "",
        description="service payload: a Jinja2 template file (.j2/.jinja) or a Python "
        "callable module:function; empty: the simulator's l2vlan service",
    )
    nso_backend_commit_queue: str = Field(
        "", description="commit queue for activations: empty (none), async, sync or bypass"
    )
    nso_backend_label: bool = Field(True, description="label NSO commits with the connection id")
    nso_backend_retries: int = Field(
        3, ge=0, description="retries of an activation or removal while NSO is down or busy"
    )
    nso_backend_retry_delay: float = Field(
        2.0, ge=0, description="seconds before the first retry (doubling each time)"
    )
    nso_backend_health_action: str = Field(
        "deep-check-sync",
        description="service action of the health check: deep-check-sync (against the "
        "devices) or check-sync (against NSO's copy)",
    )
    nso_backend_topology: bool = Field(
        False, description="derive the STPs from device interfaces marked in NSO (nsi-stp tag)"
    )
    nso_backend_topology_interval: float = Field(
        300.0, gt=0, description="seconds between refreshes of the topology from NSO"
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: ``database_url`` or SQLite under ``state_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'nsgw.db'}"


class _FileSource(PydanticBaseSettingsSource):
    """The values of the config file, below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    # A [nsgw] table is accepted as well as top-level keys.
    table = data.get("nsgw", data)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [nsgw] must be a table")
    return table


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            where = f" in {config_file}" if config_file else ""
            problems.append(f"unknown setting '{name}'{where}")
            continue
        problems.append(f"invalid setting '{name}' ({ENV_PREFIX}{name.upper()}): {error['msg']}")
    return "; ".join(problems)


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings, or raise ConfigError naming the setting at fault."""
    file_values = _read_config_file(config_file) if config_file else {}
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, _FileSource(settings_cls, file_values)

    try:
        loaded = _Loaded(**flags)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_file)) from None
    return Settings.model_construct(
        **{name: getattr(loaded, name) for name in Settings.model_fields}
    )


def masked_items(settings: Settings) -> list[tuple[str, Any]]:
    """(name, value) for every setting in JSON-compatible form, secrets shown as ``********``."""
    data = settings.model_dump(mode="json")
    items: list[tuple[str, Any]] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            items.append((name, "********" if value.get_secret_value() else ""))
        else:
            items.append((name, data[name]))
    return items
