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

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
        "empty: this process's own gRPC port",
    )
    agent_backend: str = Field("null", description="what reservations do to the network: null")
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
        "empty: <agent_public_url>/nsi/provider",
    )
    agent_public_url: str = Field(
        "",
        description="base URL peers use for this gateway's HTTP endpoints (discovery "
        "document links); empty: http://<http_host>:<http_port>",
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
    """(name, value) for every setting, secrets shown as ``********``, paths as text."""
    items: list[tuple[str, Any]] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "********" if value.get_secret_value() else ""
        elif isinstance(value, Path):
            value = str(value)
        items.append((name, value))
    return items
