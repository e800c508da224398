"""``nsgw.v1.NsoServices`` and ``nsgw.v1.NsoDevices`` from the client side.

Calls that act return the started :class:`Operation` (follow it with
``client.operations.wait(op.name)``); reads return their resource.  Every
acting call takes ``request_id`` (retry-safe when set), ``callback_url`` and
``progress_url``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
from google.protobuf import struct_pb2

from gateway.client.errors import ApiCallError
from nsgw_proto.nsgw.v1 import nso_pb2, nso_pb2_grpc, operations_pb2
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

Metadata = tuple[tuple[str, str], ...]
Operation = operations_pb2.Operation
T = TypeVar("T")


async def _call(method: Callable[..., Awaitable[T]], request: Any, metadata: Metadata) -> T:
    try:
        return await method(request, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        raise ApiCallError.from_rpc_error(exc) from None


def _struct(payload: dict[str, Any]) -> struct_pb2.Struct:
    holder = struct_pb2.Struct()
    holder.update(payload)
    return holder


class NsoServicesClient:
    """Service instances in NSO, addressed by their RESTCONF path (``/l2vlan:l2vlan=c1``)."""

    def __init__(self, channel: grpc.aio.Channel, metadata: Metadata = ()) -> None:
        self._stub = nso_pb2_grpc.NsoServicesStub(channel)
        self._metadata = metadata

    async def apply(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        commit: res.CommitParams | None = None,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        """Create or replace the instance; ``commit=CommitParams(dry_run=True)`` only previews."""
        request = nso_pb2.ApplyServiceRequest(
            path=path,
            payload=_struct(payload),
            commit=commit,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.ApplyService, request, self._metadata)

    async def delete(
        self,
        path: str,
        *,
        commit: res.CommitParams | None = None,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        request = nso_pb2.DeleteServiceRequest(
            path=path,
            commit=commit,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.DeleteService, request, self._metadata)

    async def redeploy(
        self,
        path: str,
        *,
        dry_run: bool = False,
        dry_run_format: res.DiffFormat.ValueType = res.DIFF_FORMAT_NATIVE,
        reconcile: bool = False,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        request = nso_pb2.RedeployServiceRequest(
            path=path,
            commit=res.CommitParams(dry_run=dry_run, dry_run_format=dry_run_format),
            reconcile=reconcile,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.RedeployService, request, self._metadata)

    async def check_sync(
        self,
        path: str,
        *,
        format: res.DiffFormat.ValueType = res.DIFF_FORMAT_NATIVE,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        request = nso_pb2.CheckServiceSyncRequest(
            path=path,
            format=format,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.CheckServiceSync, request, self._metadata)

    async def modifications(
        self, path: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        request = nso_pb2.GetServiceModificationsRequest(
            path=path, request_id=request_id, callback_url=callback_url, progress_url=progress_url
        )
        return await _call(self._stub.GetServiceModifications, request, self._metadata)

    async def get(self, path: str, *, check_sync: bool = False) -> res.ServiceInstance:
        request = nso_pb2.GetServiceRequest(path=path, check_sync=check_sync)
        return await _call(self._stub.GetService, request, self._metadata)

    async def list(
        self, path: str, *, page_size: int = 0, page_token: str = ""
    ) -> nso_pb2.ListServicesResponse:
        request = nso_pb2.ListServicesRequest(path=path, page_size=page_size, page_token=page_token)
        return await _call(self._stub.ListServices, request, self._metadata)


class NsoDevicesClient:
    """Devices managed by NSO and the tests run on them."""

    def __init__(self, channel: grpc.aio.Channel, metadata: Metadata = ()) -> None:
        self._stub = nso_pb2_grpc.NsoDevicesStub(channel)
        self._metadata = metadata

    async def list(
        self, *, page_size: int = 0, page_token: str = "", check_sync: bool = False
    ) -> nso_pb2.ListDevicesResponse:
        request = nso_pb2.ListDevicesRequest(
            page_size=page_size, page_token=page_token, check_sync=check_sync
        )
        return await _call(self._stub.ListDevices, request, self._metadata)

    async def get(self, name: str) -> res.Device:
        return await _call(
            self._stub.GetDevice, nso_pb2.GetDeviceRequest(name=name), self._metadata
        )

    async def check_sync(
        self,
        devices: Iterable[str] = (),
        *,
        all_devices: bool = False,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        """check-sync of the named devices, or of every device with ``all_devices=True``."""
        request = nso_pb2.CheckSyncRequest(
            devices=list(devices),
            all_devices=all_devices,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.CheckSync, request, self._metadata)

    async def sync_to(
        self,
        device: str,
        *,
        dry_run: bool = False,
        dry_run_format: res.DiffFormat.ValueType = res.DIFF_FORMAT_NATIVE,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        request = nso_pb2.SyncToRequest(
            device=device,
            dry_run=dry_run,
            dry_run_format=dry_run_format,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.SyncTo, request, self._metadata)

    async def exec(
        self,
        device: str,
        command: str,
        *,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> Operation:
        """live-status exec of ``command`` (e.g. ``show version``) on the device."""
        request = nso_pb2.LiveStatusExecRequest(
            device=device,
            command=command,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(self._stub.LiveStatusExec, request, self._metadata)

    async def _action(
        self,
        method: Callable[..., Awaitable[Operation]],
        device: str,
        request_id: str,
        callback_url: str,
        progress_url: str,
    ) -> Operation:
        request = nso_pb2.DeviceActionRequest(
            device=device,
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
        )
        return await _call(method, request, self._metadata)

    async def sync_from(
        self, device: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        return await self._action(
            self._stub.SyncFrom, device, request_id, callback_url, progress_url
        )

    async def compare_config(
        self, device: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        return await self._action(
            self._stub.CompareConfig, device, request_id, callback_url, progress_url
        )

    async def connect(
        self, device: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        return await self._action(
            self._stub.Connect, device, request_id, callback_url, progress_url
        )

    async def fetch_host_keys(
        self, device: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        return await self._action(
            self._stub.FetchHostKeys, device, request_id, callback_url, progress_url
        )

    async def ping(
        self, device: str, *, request_id: str = "", callback_url: str = "", progress_url: str = ""
    ) -> Operation:
        return await self._action(self._stub.Ping, device, request_id, callback_url, progress_url)
