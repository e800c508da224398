"""The agent's ConnectionProvider called directly by a part of this process.

When the SOAP proxy and the agent run in the same process, a SOAP request
needs no gRPC round trip on loopback to reach the agent: the proxy calls the
servicer's method itself.  The behaviour is the channel's: the same replies,
a deadline after which the call is abandoned, and a refusal that a servicer
raises with ``context.abort`` reported as a failed call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, NoReturn

import grpc

from adapters.nsi_soap.provider_target import ProviderFailed
from gateway.agent.grpc_service import ConnectionProviderServicer


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class _CallContext:
    """What the servicer uses of a grpc.aio.ServicerContext."""

    def set_trailing_metadata(self, metadata: Iterable[tuple[str, str | bytes]]) -> None:
        pass  # only a remote caller could read it

    async def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise _Aborted(code, details)


class InProcessProvider:
    """A ConnectionProvider (see adapters.nsi_soap.provider_target) that is this process's agent."""

    def __init__(self, servicer: ConnectionProviderServicer) -> None:
        self._servicer = servicer

    async def call(self, method: str, request: Any, deadline: float) -> Any:
        handler = getattr(self._servicer, method, None)
        if handler is None:
            raise ProviderFailed(f"UNIMPLEMENTED: no ConnectionProvider method {method}")
        try:
            async with asyncio.timeout(deadline):
                return await handler(request, _CallContext())
        except TimeoutError:
            raise ProviderFailed(f"no answer within {deadline}s", timed_out=True) from None
        except _Aborted as exc:
            raise ProviderFailed(f"{exc.code.name}: {exc.details}") from None
