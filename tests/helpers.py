"""Small helpers shared by tests."""

from __future__ import annotations

from bench.servers import free_port, wait_for_grpc

__all__ = ["free_port", "wait_until_serving"]


async def wait_until_serving(target: str, timeout: float = 30.0) -> None:
    """Wait until the gRPC server at ``target`` reports SERVING (all its components started)."""
    try:
        await wait_for_grpc(target, timeout)
    except TimeoutError as exc:
        raise AssertionError(f"nsgw at {target} did not report SERVING within {timeout} s") from exc
