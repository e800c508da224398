"""Operation kinds of ``nsgw.v1.NsoDevices``: check-sync, sync-from/-to, compare, tests, exec.

A device test that ran answers SUCCEEDED with the action's own verdict
(``DeviceTestResult.success``: a device NSO cannot connect to is a test that
ran and said no).  The operation FAILS when the test could not run: the
device does not exist, NSO is unreachable, busy or refused.
"""

from __future__ import annotations

import asyncio
import re

from google.protobuf.message import Message

from adapters.nso_restconf import (
    AccessDenied,
    CheckSyncResult,
    InvalidResponse,
    NotFound,
    NsoError,
    NsoRequestError,
    SyncStatus,
    Unauthorized,
)
from gateway.nso_api.convert import diff_format, dry_run_to_proto, sync_state
from gateway.nso_api.errors import operation_failure
from gateway.nso_api.kinds import ClientSource
from gateway.operations.engine import OperationContext, OperationKind
from nsgw_proto.nsgw.v1 import nso_pb2
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

CHECK_SYNC = "devices.CheckSync"
SYNC_FROM = "devices.SyncFrom"
SYNC_TO = "devices.SyncTo"
COMPARE_CONFIG = "devices.CompareConfig"
CONNECT = "devices.Connect"
FETCH_HOST_KEYS = "devices.FetchHostKeys"
PING = "devices.Ping"
LIVE_STATUS_EXEC = "devices.LiveStatusExec"

_RECEIVED = re.compile(r"(\d+) packets received")


def ping_succeeded(output: str) -> bool:
    """True when the ping output reports at least one reply."""
    match = _RECEIVED.search(output)
    return match is not None and int(match.group(1)) > 0


def device_kinds(nso: ClientSource) -> list[OperationKind]:  # noqa: PLR0915 - one runner each
    async def check_sync(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.CheckSyncRequest)
        client = nso()
        try:
            names = list(request.devices) or [d.name for d in await client.devices.all()]
        except NsoError as exc:
            raise operation_failure(exc, what="device", name="*") from None
        single = len(names) == 1

        async def one(name: str) -> CheckSyncResult:
            try:
                return await client.devices.check_sync(name)
            except NotFound as exc:
                if single:
                    raise operation_failure(exc, what="device", name=name) from None
                return CheckSyncResult(
                    device=name, result=SyncStatus.ERROR, info=f"device {name} does not exist"
                )
            except (Unauthorized, AccessDenied) as exc:
                raise operation_failure(exc, what="device", name=name) from None
            except (NsoRequestError, InvalidResponse) as exc:
                if single:
                    raise operation_failure(exc, what="device", name=name) from None
                return CheckSyncResult(device=name, result=SyncStatus.ERROR, info=exc.message)
            except NsoError as exc:  # NSO unreachable, timed out: the whole check fails
                raise operation_failure(exc, what="device", name=name) from None

        if single:  # no task, no progress: the one answer is the result
            return res.CheckSyncResult(devices=[sync_state(await one(names[0]))])
        await ctx.progress(f"checking {len(names)} devices")
        tasks = [asyncio.ensure_future(one(name)) for name in names]
        results: dict[str, res.DeviceSyncState] = {}
        try:
            for done in asyncio.as_completed(tasks):
                state = sync_state(await done)
                results[state.device] = state
                verdict = res.DeviceSyncState.Result.Name(state.result).removeprefix("RESULT_")
                await ctx.progress(
                    f"{state.device}: {verdict.lower().replace('_', '-')} "
                    f"({len(results)}/{len(names)})"
                )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return res.CheckSyncResult(devices=[results[n] for n in names if n in results])

    async def sync_from(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeviceActionRequest)
        try:
            outcome = await nso().devices.sync_from(request.device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.DeviceTestResult(
            device=request.device, action="sync-from", success=outcome.result, output=outcome.info
        )

    async def sync_to(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.SyncToRequest)
        device = request.device
        try:
            if request.dry_run:
                fmt = diff_format(request.dry_run_format)
                await ctx.progress(f"sync-to dry-run ({fmt})")
                preview = await nso().devices.sync_to_dry_run(device, fmt)
                return res.DeviceTestResult(
                    device=device,
                    action="sync-to",
                    success=True,
                    output=preview.text,
                    dry_run=dry_run_to_proto(preview, device=device),
                )
            outcome = await nso().devices.sync_to(device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=device) from None
        return res.DeviceTestResult(
            device=device, action="sync-to", success=outcome.result, output=outcome.info
        )

    async def compare_config(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeviceActionRequest)
        try:
            diff = await nso().devices.compare_config(request.device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.CompareConfigResult(device=request.device, in_sync=not diff.strip(), diff=diff)

    async def connect(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeviceActionRequest)
        try:
            outcome = await nso().devices.connect(request.device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.DeviceTestResult(
            device=request.device, action="connect", success=outcome.result, output=outcome.info
        )

    async def fetch_host_keys(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeviceActionRequest)
        try:
            outcome = await nso().devices.fetch_host_keys(request.device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.DeviceTestResult(
            device=request.device,
            action="fetch-host-keys",
            success=outcome.result != "failed" and bool(outcome.fingerprints),
            output=outcome.result,
            host_keys={key.algorithm: key.value for key in outcome.fingerprints},
        )

    async def ping(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeviceActionRequest)
        try:
            outcome = await nso().devices.ping(request.device)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.DeviceTestResult(
            device=request.device,
            action="ping",
            success=ping_succeeded(outcome.result),
            output=outcome.result,
        )

    async def live_status_exec(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.LiveStatusExecRequest)
        try:
            output = await nso().devices.exec(request.device, request.command)
        except NsoError as exc:
            raise operation_failure(exc, what="device", name=request.device) from None
        return res.DeviceTestResult(
            device=request.device, action="live-status exec", success=True, output=output
        )

    return [
        OperationKind(CHECK_SYNC, nso_pb2.CheckSyncRequest, check_sync, resumable=True),
        OperationKind(SYNC_FROM, nso_pb2.DeviceActionRequest, sync_from, cancellable=False),
        OperationKind(SYNC_TO, nso_pb2.SyncToRequest, sync_to, cancellable=False),
        OperationKind(COMPARE_CONFIG, nso_pb2.DeviceActionRequest, compare_config, resumable=True),
        OperationKind(CONNECT, nso_pb2.DeviceActionRequest, connect, resumable=True),
        OperationKind(FETCH_HOST_KEYS, nso_pb2.DeviceActionRequest, fetch_host_keys),
        OperationKind(PING, nso_pb2.DeviceActionRequest, ping, resumable=True),
        OperationKind(LIVE_STATUS_EXEC, nso_pb2.LiveStatusExecRequest, live_status_exec),
    ]
