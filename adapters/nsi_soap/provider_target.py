"""Where the provider endpoint sends what it translated: a ConnectionProvider.

The endpoint only needs one thing of a provider: call a ConnectionProvider
method with a request and a deadline, and get the reply or a failure.
:class:`GrpcProvider` does that over a gRPC channel (any agent that speaks the
contract); a process that hosts the agent itself may hand the endpoint an
object that calls the agent's servicer directly, with the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import grpc

from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc


class ProviderFailed(Exception):
    """The provider did not answer in time, could not be reached, or failed the call."""

    def __init__(self, detail: str, *, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.timed_out = timed_out


class ConnectionProvider(Protocol):
    async def call(self, method: str, request: Any, deadline: float) -> Any:
        """The reply of ConnectionProvider ``method`` (e.g. "Reserve") to ``request``.

        Raises :class:`ProviderFailed` when there is no reply within ``deadline``
        seconds or the call fails as a whole; refusals travel in the reply.
        """
        ...


class GrpcProvider:
    """A ConnectionProvider reached over gRPC (the stub is made when first needed)."""

    def __init__(self, stub: Callable[[], provider_grpc.ConnectionProviderAsyncStub]) -> None:
        self._stub = stub

    async def call(self, method: str, request: Any, deadline: float) -> Any:
        try:
            return await getattr(self._stub(), method)(request, timeout=deadline)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ProviderFailed(f"no answer within {deadline}s", timed_out=True) from None
            raise ProviderFailed(f"{code.name}: {exc.details()}") from None
