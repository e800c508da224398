"""Backends: what a reservation does to the network.  Chosen by the ``agent_backend`` setting."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.agent.backends.base import Backend, BackendError
from gateway.agent.backends.null import NullBackend

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.db import Database

# name -> factory(settings, database); the factory may raise ConfigError.
BackendFactory = Callable[["Settings", "Database"], Backend]


def _null(settings: Settings, db: Database) -> Backend:
    del settings, db
    return NullBackend()


def _nso(settings: Settings, db: Database) -> Backend:
    from gateway.agent.backends.nso import nso_backend_from_settings  # noqa: PLC0415

    return nso_backend_from_settings(settings, db)


REGISTRY: dict[str, BackendFactory] = {"null": _null, "nso": _nso}


def make_backend(settings: Settings, db: Database) -> Backend:
    try:
        factory = REGISTRY[settings.agent_backend]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(
            f"unknown agent backend {settings.agent_backend!r} (known: {known})"
        ) from None
    return factory(settings, db)


__all__ = ["REGISTRY", "Backend", "BackendError", "BackendFactory", "NullBackend", "make_backend"]
