"""The extension point by which parts of nsgw join the gateway process.

A component (the NSO adapter, the provider agent, the SOAP proxy, the
orchestrator API...) adds its gRPC services and HTTP routes, and is started
after the servers are bound and stopped after they have stopped accepting
calls, so its background work never races a half-open edge.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import grpc
from aiohttp import web


@runtime_checkable
class Component(Protocol):
    """One part of the gateway process."""

    name: str

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        """Register gRPC services; return their full names (for health and reflection)."""
        ...

    def add_to_http(self, app: web.Application) -> None:
        """Add HTTP routes to the shared application."""
        ...

    async def start(self) -> None:
        """Begin background work (timers, outbox delivery...)."""
        ...

    async def stop(self) -> None:
        """Finish or persist background work; called once, after the servers stopped."""
        ...


@runtime_checkable
class InterceptsGrpc(Protocol):
    """A component that also checks or records gRPC calls (e.g. API access control)."""

    def grpc_interceptors(self) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
        ...


def grpc_interceptors_of(
    components: list[Component],
) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
    """The interceptors the components bring, in component order."""
    found: list[grpc.aio.ServerInterceptor] = []  # type: ignore[type-arg]
    for component in components:
        if isinstance(component, InterceptsGrpc):
            found.extend(component.grpc_interceptors())
    return found
