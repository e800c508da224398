"""Backends: what a reservation does to the network.  Chosen by the ``agent_backend`` setting."""

from __future__ import annotations

from collections.abc import Callable

from gateway.agent.backends.base import Backend, BackendError
from gateway.agent.backends.null import NullBackend

# name -> factory; another backend (e.g. "nso") registers itself here.
REGISTRY: dict[str, Callable[[], Backend]] = {"null": NullBackend}


def make_backend(name: str) -> Backend:
    try:
        factory = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown agent backend {name!r} (known: {known})") from None
    return factory()


__all__ = ["REGISTRY", "Backend", "BackendError", "NullBackend", "make_backend"]
