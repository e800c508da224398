"""The ``nsgw.v1.NsoDevices`` servicer: devices managed by NSO, and the tests run on them.

ListDevices and GetDevice answer directly; every device test runs an NSO
action and so starts an operation.
"""

from __future__ import annotations

from typing import Any

from adapters.nso_restconf import NsoError
from gateway.nso_api import device_kinds as kinds
from gateway.nso_api import validation
from gateway.nso_api.convert import device_to_proto, diff_format
from gateway.nso_api.errors import api_error
from gateway.nso_api.kinds import ClientSource
from gateway.nso_api.paging import page
from gateway.operations.errors import ApiError, abort, invalid_argument
from gateway.operations.starter import Context, OperationStarter
from nsgw_proto.nsgw.v1 import nso_pb2, nso_pb2_grpc, operations_pb2
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

Problems = validation.Problems
MAX_TARGET = 1024


def check_sync_target(request: nso_pb2.CheckSyncRequest) -> str:
    """``*`` for all devices, else the names joined by commas (shortened past 1024 characters)."""
    if not request.devices:
        return "*"
    target = ",".join(request.devices)
    if len(target) > MAX_TARGET:
        target = f"{target[: MAX_TARGET - 20]}... ({len(request.devices)} devices)"
    return target


class NsoDevicesServicer(nso_pb2_grpc.NsoDevicesServicer):
    def __init__(self, starter: OperationStarter, nso: ClientSource) -> None:
        self._starter = starter
        self._nso = nso

    async def _start(
        self, context: Context, kind: str, request: Any, target: str, problems: Problems
    ) -> operations_pb2.Operation:
        if problems:
            await abort(context, invalid_argument(problems))
        return await self._starter.start(
            context,
            kind,
            target=target,
            request=request,
            request_id=request.request_id,
            callback_url=request.callback_url,
            progress_url=request.progress_url,
        )

    async def _device_action(
        self, context: Context, kind: str, request: nso_pb2.DeviceActionRequest
    ) -> operations_pb2.Operation:
        problems = validation.device_name(request.device)
        return await self._start(context, kind, request, request.device, problems)

    async def CheckSync(
        self, request: nso_pb2.CheckSyncRequest, context: Context
    ) -> operations_pb2.Operation:
        problems: Problems = []
        if request.devices and request.all_devices:
            problems.append(("all_devices", "give either devices or all_devices, not both"))
        elif not request.devices and not request.all_devices:
            problems.append(("devices", "name at least one device, or set all_devices"))
        if len(request.devices) > validation.MAX_DEVICES:
            problems.append(("devices", f"at most {validation.MAX_DEVICES} devices"))
        if len(set(request.devices)) != len(request.devices):
            problems.append(("devices", "names a device more than once"))
        for index, name in enumerate(request.devices):
            problems += validation.device_name(name, f"devices[{index}]")
        target = check_sync_target(request)
        return await self._start(context, kinds.CHECK_SYNC, request, target, problems)

    async def SyncFrom(
        self, request: nso_pb2.DeviceActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._device_action(context, kinds.SYNC_FROM, request)

    async def SyncTo(
        self, request: nso_pb2.SyncToRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.device_name(request.device)
        try:
            diff_format(request.dry_run_format)
        except ValueError as exc:
            problems.append(("dry_run_format", str(exc)))
        return await self._start(context, kinds.SYNC_TO, request, request.device, problems)

    async def CompareConfig(
        self, request: nso_pb2.DeviceActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._device_action(context, kinds.COMPARE_CONFIG, request)

    async def Connect(
        self, request: nso_pb2.DeviceActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._device_action(context, kinds.CONNECT, request)

    async def FetchHostKeys(
        self, request: nso_pb2.DeviceActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._device_action(context, kinds.FETCH_HOST_KEYS, request)

    async def Ping(
        self, request: nso_pb2.DeviceActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._device_action(context, kinds.PING, request)

    async def LiveStatusExec(
        self, request: nso_pb2.LiveStatusExecRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.device_name(request.device) + validation.command(request.command)
        return await self._start(context, kinds.LIVE_STATUS_EXEC, request, request.device, problems)

    async def GetDevice(self, request: nso_pb2.GetDeviceRequest, context: Context) -> res.Device:
        try:
            problems = validation.device_name(request.name, "name")
            if problems:
                raise invalid_argument(problems)
            try:
                info = await self._nso().devices.get(request.name)
            except NsoError as exc:
                raise api_error(exc, what="device", name=request.name, field="name") from None
        except ApiError as error:
            await abort(context, error)
        return device_to_proto(info)

    async def ListDevices(
        self, request: nso_pb2.ListDevicesRequest, context: Context
    ) -> nso_pb2.ListDevicesResponse:
        try:
            problems = validation.page_size(request.page_size)
            if problems:
                raise invalid_argument(problems)
            nso = self._nso()
            try:
                everything = await nso.devices.all()
                try:
                    chunk, token = page(
                        everything, request.page_size, request.page_token, "devices"
                    )
                except ValueError as exc:
                    raise invalid_argument([("page_token", str(exc))]) from None
                in_sync: dict[str, bool] = {}
                if request.check_sync:
                    results = await nso.devices.check_sync_many(d.name for d in chunk)
                    in_sync = {r.device: r.in_sync for r in results if r.result != "error"}
            except NsoError as exc:
                raise api_error(exc, what="device", name="*") from None
        except ApiError as error:
            await abort(context, error)
        return nso_pb2.ListDevicesResponse(
            devices=[device_to_proto(d, in_sync.get(d.name)) for d in chunk],
            next_page_token=token,
        )
