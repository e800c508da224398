"""Between the API's protobuf messages and the NSO client's typed values."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from adapters.nso_restconf import (
    CheckSyncResult,
    CommitParams,
    CommitQueueMode,
    DeviceInfo,
    DryRunFormat,
    DryRunResult,
    SyncStatus,
)
from gateway.struct_numbers import whole_numbers
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

_FORMATS = {
    res.DIFF_FORMAT_UNSPECIFIED: DryRunFormat.NATIVE,
    res.DIFF_FORMAT_NATIVE: DryRunFormat.NATIVE,
    res.DIFF_FORMAT_CLI: DryRunFormat.CLI,
    res.DIFF_FORMAT_XML: DryRunFormat.XML,
}
_FORMAT_TO_PROTO = {
    DryRunFormat.NATIVE: res.DIFF_FORMAT_NATIVE,
    DryRunFormat.CLI: res.DIFF_FORMAT_CLI,
    DryRunFormat.XML: res.DIFF_FORMAT_XML,
}
_QUEUE = {
    res.CommitParams.COMMIT_QUEUE_UNSPECIFIED: None,
    res.CommitParams.COMMIT_QUEUE_NONE: CommitQueueMode.BYPASS,
    res.CommitParams.COMMIT_QUEUE_ASYNC: CommitQueueMode.ASYNC,
    res.CommitParams.COMMIT_QUEUE_SYNC: CommitQueueMode.SYNC,
}
_QUEUE_STATUS = {
    "waiting": res.COMMIT_QUEUE_STATUS_QUEUED,
    "async": res.COMMIT_QUEUE_STATUS_QUEUED,
    "executing": res.COMMIT_QUEUE_STATUS_EXECUTING,
    "completed": res.COMMIT_QUEUE_STATUS_COMPLETED,
    "failed": res.COMMIT_QUEUE_STATUS_FAILED,
    "timeout": res.COMMIT_QUEUE_STATUS_FAILED,
    "deleted": res.COMMIT_QUEUE_STATUS_FAILED,
}
_SYNC = {
    SyncStatus.IN_SYNC: res.DeviceSyncState.RESULT_IN_SYNC,
    SyncStatus.OUT_OF_SYNC: res.DeviceSyncState.RESULT_OUT_OF_SYNC,
    SyncStatus.UNSUPPORTED: res.DeviceSyncState.RESULT_UNSUPPORTED,
}


def diff_format(value: int) -> DryRunFormat:
    """The NSO dry-run format of a DiffFormat (unspecified: native); ValueError when unknown."""
    try:
        return _FORMATS[value]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"unknown diff format {value}") from None


def commit_params(commit: res.CommitParams, *, rollback_id: bool = True) -> CommitParams:
    """The client's commit parameters; CommitParamsError (a ValueError) for a refused mix."""
    queue = _QUEUE.get(commit.commit_queue)
    if commit.commit_queue not in _QUEUE:
        raise ValueError(f"unknown commit_queue {commit.commit_queue}")
    return CommitParams.build(
        dry_run=diff_format(commit.dry_run_format) if commit.dry_run else None,
        no_networking=commit.no_networking,
        no_out_of_sync_check=commit.no_out_of_sync_check,
        commit_queue=queue,
        label=commit.label or None,
        comment=commit.comment or None,
        rollback_id=rollback_id and not commit.dry_run,
    )


def dry_run_to_proto(result: DryRunResult, *, device: str = "") -> res.DryRunResult:
    """Per-device diffs: native output per device, or the cli/xml diff split by device.

    ``device``: the one device a device action's diff is about (its output has
    no ``device`` blocks to split).
    """
    message = res.DryRunResult(format=_FORMAT_TO_PROTO[result.format])
    if result.format is DryRunFormat.NATIVE:
        for name, data in sorted(result.native.items()):
            message.devices.add(device=name, diff=data)
        return message
    text = result.cli if result.format is DryRunFormat.CLI else result.xml
    blocks = split_by_device(text)
    if device and text.strip() and not blocks:
        blocks = {device: text}
    for name, diff in blocks.items():
        message.devices.add(device=name, diff=diff)
    if not device:
        message.service_diff = text
    return message


def split_by_device(text: str) -> dict[str, str]:
    """The ``device NAME { ... }`` blocks of an NSO CLI diff, per device (in order)."""
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    depth = 0
    for line in text.splitlines():
        body = line.lstrip("+-! ").strip()
        if current is None:
            if body.startswith("device ") and body.endswith("{"):
                current, depth = body.split()[1], 1
                blocks.setdefault(current, []).append(line)
            continue
        blocks[current].append(line)
        depth += body.count("{") - body.count("}")
        if depth <= 0:
            current = None
    return {device: "\n".join(lines) + "\n" for device, lines in blocks.items()}


def queue_status(status: str | None) -> res.CommitQueueStatus.ValueType:
    if status is None:
        return res.COMMIT_QUEUE_STATUS_UNSPECIFIED
    return _QUEUE_STATUS.get(status, res.COMMIT_QUEUE_STATUS_UNSPECIFIED)


def sync_state(result: CheckSyncResult) -> res.DeviceSyncState:
    code = _SYNC.get(result.result, res.DeviceSyncState.RESULT_ERROR)
    info = result.info
    if code == res.DeviceSyncState.RESULT_ERROR and not info:
        info = str(result.result)  # e.g. "locked", "unknown"
    return res.DeviceSyncState(device=result.device, result=code, info=info)


def device_to_proto(info: DeviceInfo, in_sync: bool | None = None) -> res.Device:
    device = res.Device(
        name=info.name,
        address=info.address,
        port=info.port or 0,
        authgroup=info.authgroup,
        ned_id=info.ned_id,
        admin_state=info.admin_state,
    )
    if in_sync is not None:
        device.in_sync = in_sync
    return device


def to_struct(value: Any) -> struct_pb2.Struct:
    """A JSON object as a Struct (other JSON values are wrapped as ``{"value": ...}``)."""
    holder = struct_pb2.Struct()
    holder.update(value if isinstance(value, dict) else {"value": value})
    return holder


def from_struct(value: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON, with whole numbers back as integers (YANG int leaves)."""
    data: dict[str, Any] = whole_numbers(json_format.MessageToDict(value))
    return data
