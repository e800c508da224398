"""Operation kinds of ``nsgw.v1.NsoServices``: apply, delete, re-deploy, check-sync, modifications.

A real apply, delete or re-deploy first asks NSO for a CLI dry-run of the same
change, so the CommitResult can say whether anything changed and which
devices; then it commits.  A dry-run request stops after the dry-run.
"""

from __future__ import annotations

from google.protobuf.message import Message

from adapters.nso_restconf import (
    CommitParams,
    DryRunFormat,
    DryRunResult,
    NsoError,
    QueueItemStatus,
    WriteResult,
)
from gateway.nso_api.convert import (
    commit_params,
    diff_format,
    dry_run_to_proto,
    from_struct,
    queue_status,
    split_by_device,
)
from gateway.nso_api.errors import DOMAIN, operation_failure
from gateway.nso_api.kinds import ClientSource
from gateway.operations.engine import OperationContext, OperationKind
from gateway.operations.model import OperationFailed
from nsgw_proto.nsgw.v1 import nso_pb2
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

APPLY = "nso.ApplyService"
DELETE = "nso.DeleteService"
REDEPLOY = "nso.RedeployService"
CHECK_SYNC = "nso.CheckServiceSync"
MODIFICATIONS = "nso.GetServiceModifications"

_PREVIEW = CommitParams(dry_run=DryRunFormat.CLI)
# How long an apply or delete through the commit queue waits for its queue item.
QUEUE_WAIT_SECONDS = 600.0
_QUEUE_DONE = {str(s) for s in QueueItemStatus if s.done}


def _changed_devices(preview: DryRunResult) -> list[str]:
    return sorted(split_by_device(preview.text))


def _commit_result(write: WriteResult, preview: DryRunResult) -> res.CommitResult:
    return res.CommitResult(
        rollback_id=write.rollback_id or 0,
        commit_queue_id=str(write.commit_queue_id) if write.commit_queue_id is not None else "",
        commit_queue_status=queue_status(write.commit_queue_status),
        changed=not preview.is_empty,
        devices=_changed_devices(preview),
    )


async def _follow_queue(
    ctx: OperationContext, nso: ClientSource, write: WriteResult, path: str
) -> WriteResult:
    """With the commit queue: wait for the queue item to leave it, and say how it ended."""
    item_id = write.commit_queue_id
    if item_id is None or write.commit_queue_status in _QUEUE_DONE:
        return write
    await ctx.progress(f"commit-queue item {item_id}: {write.commit_queue_status}")
    item = await nso().wait_for_queue_item(item_id, timeout=QUEUE_WAIT_SECONDS)
    await ctx.progress(f"commit-queue item {item_id}: {item.status}")
    if item.status is not QueueItemStatus.COMPLETED:
        raise OperationFailed(
            "ABORTED",
            "NSO_COMMIT_QUEUE_FAILED",
            f"commit-queue item {item_id} of {path} ended {item.status}",
            metadata={"service": path, "commit_queue_id": str(item_id)},
            domain=DOMAIN,
        )
    return write.model_copy(update={"commit_queue_status": str(item.status)})


def _describe(devices: list[str]) -> str:
    return ", ".join(devices) if devices else "none"


def service_kinds(nso: ClientSource) -> list[OperationKind]:  # noqa: PLR0915 - one runner each
    async def apply(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.ApplyServiceRequest)
        path, body = request.path, from_struct(request.payload)
        params = commit_params(request.commit)
        try:
            if request.commit.dry_run:
                await ctx.progress(f"dry-run ({params.dry_run}) of {path}")
                write = await nso().services.apply(path, body, params=params)
                assert write.dry_run is not None
                return dry_run_to_proto(write.dry_run)
            preview = (await nso().services.apply(path, body, params=_PREVIEW)).dry_run
            assert preview is not None
            await ctx.progress(
                f"committing; devices changing: {_describe(_changed_devices(preview))}"
            )
            write = await nso().services.apply(path, body, params=params)
            write = await _follow_queue(ctx, nso, write, path)
        except NsoError as exc:
            raise operation_failure(exc, what="service", name=path) from None
        return _commit_result(write, preview)

    async def delete(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.DeleteServiceRequest)
        path = request.path
        params = commit_params(request.commit)
        try:
            if request.commit.dry_run:
                await ctx.progress(f"dry-run ({params.dry_run}) of deleting {path}")
                write = await nso().services.delete(path, params=params)
                assert write.dry_run is not None
                return dry_run_to_proto(write.dry_run)
            preview = (await nso().services.delete(path, params=_PREVIEW)).dry_run
            assert preview is not None
            await ctx.progress(
                f"deleting; devices changing: {_describe(_changed_devices(preview))}"
            )
            write = await nso().services.delete(path, params=params)
            write = await _follow_queue(ctx, nso, write, path)
        except NsoError as exc:
            raise operation_failure(exc, what="service", name=path) from None
        return _commit_result(write, preview)

    async def redeploy(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.RedeployServiceRequest)
        path = request.path
        try:
            if request.commit.dry_run:
                fmt = diff_format(request.commit.dry_run_format)
                await ctx.progress(f"re-deploy dry-run ({fmt}) of {path}")
                return dry_run_to_proto(await nso().services.re_deploy_dry_run(path, fmt))
            preview = await nso().services.re_deploy_dry_run(path, DryRunFormat.CLI)
            await ctx.progress(
                f"re-deploying; devices changing: {_describe(_changed_devices(preview))}"
            )
            await nso().services.re_deploy(path, reconcile=request.reconcile)
        except NsoError as exc:
            raise operation_failure(exc, what="service", name=path) from None
        return res.CommitResult(changed=not preview.is_empty, devices=_changed_devices(preview))

    async def check_sync(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.CheckServiceSyncRequest)
        path = request.path
        result = res.ServiceSyncResult(path=path)
        try:
            status = await nso().services.check_sync(path)
            result.in_sync = status.in_sync
            if not status.in_sync:
                await ctx.progress("out of sync; asking what a re-deploy would change")
                fmt = diff_format(request.format)
                drift = await nso().services.re_deploy_dry_run(path, fmt)
                result.devices.extend(dry_run_to_proto(drift).devices)
        except NsoError as exc:
            raise operation_failure(exc, what="service", name=path) from None
        return result

    async def modifications(ctx: OperationContext) -> Message:
        request = ctx.request
        assert isinstance(request, nso_pb2.GetServiceModificationsRequest)
        path = request.path
        try:
            text = await nso().services.get_modifications(path)
            status = await nso().services.check_sync(path)
        except NsoError as exc:
            raise operation_failure(exc, what="service", name=path) from None
        result = res.ServiceSyncResult(path=path, in_sync=status.in_sync)
        for device, diff in split_by_device(text).items():
            result.devices.add(device=device, diff=diff)
        return result

    return [
        OperationKind(APPLY, nso_pb2.ApplyServiceRequest, apply, cancellable=False),
        OperationKind(DELETE, nso_pb2.DeleteServiceRequest, delete, cancellable=False),
        OperationKind(REDEPLOY, nso_pb2.RedeployServiceRequest, redeploy, cancellable=False),
        OperationKind(CHECK_SYNC, nso_pb2.CheckServiceSyncRequest, check_sync, resumable=True),
        OperationKind(
            MODIFICATIONS, nso_pb2.GetServiceModificationsRequest, modifications, resumable=True
        ),
    ]
