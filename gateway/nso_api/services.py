"""The ``nsgw.v1.NsoServices`` servicer: service instances in NSO.

Mutating calls validate their fields and start an operation; GetService and
ListServices read NSO and answer directly.
"""

from __future__ import annotations

from typing import Any

from adapters.nso_restconf import NsoError
from adapters.nso_restconf.paths import encode_key
from gateway.nso_api import service_kinds as kinds
from gateway.nso_api import validation
from gateway.nso_api.convert import commit_params, diff_format, split_by_device, to_struct
from gateway.nso_api.errors import api_error
from gateway.nso_api.kinds import ClientSource
from gateway.nso_api.paging import page
from gateway.operations.errors import ApiError, abort, invalid_argument
from gateway.operations.starter import Context, OperationStarter
from nsgw_proto.nsgw.v1 import nso_pb2, nso_pb2_grpc, operations_pb2
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

Problems = validation.Problems


def _commit_problems(commit: res.CommitParams) -> Problems:
    try:
        commit_params(commit)
    except ValueError as exc:
        return [("commit", str(exc))]
    return []


def _format_problems(value: int, field: str) -> Problems:
    try:
        diff_format(value)
    except ValueError as exc:
        return [(field, str(exc))]
    return []


def _check(problems: Problems) -> None:
    if problems:
        raise invalid_argument(problems)


class NsoServicesServicer(nso_pb2_grpc.NsoServicesServicer):
    def __init__(self, starter: OperationStarter, nso: ClientSource) -> None:
        self._starter = starter
        self._nso = nso

    async def _start(
        self, context: Context, kind: str, request: Any, problems: Problems
    ) -> operations_pb2.Operation:
        try:
            _check(problems)
        except ApiError as error:
            await abort(context, error)
        return await self._starter.start(
            context,
            kind,
            target=request.path,
            request=request,
            request_id=request.request_id,
            callback_url=request.callback_url,
            progress_url=request.progress_url,
        )

    async def ApplyService(
        self, request: nso_pb2.ApplyServiceRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.service_instance_path(request.path)
        if not request.HasField("payload") or not request.payload.fields:
            problems.append(("payload", "is required: the instance as a JSON object"))
        problems += _commit_problems(request.commit)
        return await self._start(context, kinds.APPLY, request, problems)

    async def DeleteService(
        self, request: nso_pb2.DeleteServiceRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.service_instance_path(request.path)
        problems += _commit_problems(request.commit)
        return await self._start(context, kinds.DELETE, request, problems)

    async def RedeployService(
        self, request: nso_pb2.RedeployServiceRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.service_instance_path(request.path)
        problems += _format_problems(request.commit.dry_run_format, "commit.dry_run_format")
        unsupported = res.CommitParams(
            no_networking=request.commit.no_networking,
            no_out_of_sync_check=request.commit.no_out_of_sync_check,
            commit_queue=request.commit.commit_queue,
            label=request.commit.label,
            comment=request.commit.comment,
        )
        if unsupported.ByteSize():
            problems.append(("commit", "re-deploy takes only dry_run and dry_run_format"))
        if request.reconcile and request.commit.dry_run:
            problems.append(("reconcile", "cannot be combined with a dry-run"))
        return await self._start(context, kinds.REDEPLOY, request, problems)

    async def CheckServiceSync(
        self, request: nso_pb2.CheckServiceSyncRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.service_instance_path(request.path)
        problems += _format_problems(request.format, "format")
        return await self._start(context, kinds.CHECK_SYNC, request, problems)

    async def GetServiceModifications(
        self, request: nso_pb2.GetServiceModificationsRequest, context: Context
    ) -> operations_pb2.Operation:
        problems = validation.service_instance_path(request.path)
        if request.format not in (res.DIFF_FORMAT_UNSPECIFIED, res.DIFF_FORMAT_CLI):
            problems.append(("format", "get-modifications reports in CLI format only"))
        return await self._start(context, kinds.MODIFICATIONS, request, problems)

    async def GetService(
        self, request: nso_pb2.GetServiceRequest, context: Context
    ) -> res.ServiceInstance:
        try:
            _check(validation.service_instance_path(request.path))
            nso = self._nso()
            try:
                reply = await nso.get(request.path, content="config")
                modifications = await nso.services.get_modifications(request.path)
                instance = res.ServiceInstance(
                    path=request.path,
                    config=to_struct(reply.value),
                    devices=sorted(split_by_device(modifications)),
                )
                if request.check_sync:
                    instance.in_sync = (await nso.services.check_sync(request.path)).in_sync
            except NsoError as exc:
                raise api_error(exc, what="service", name=request.path, field="path") from None
        except ApiError as error:
            await abort(context, error)
        return instance

    async def ListServices(
        self, request: nso_pb2.ListServicesRequest, context: Context
    ) -> nso_pb2.ListServicesResponse:
        path = request.path.rstrip("/")
        try:
            problems = validation.service_path(path)
            problems += validation.page_size(request.page_size)
            _check(problems)
            try:
                reply = await self._nso().get(path, content="config")
            except NsoError as exc:
                if exc.status == 404:  # an empty list reads as "not found" in NSO
                    entries: list[Any] = []
                else:
                    raise api_error(exc, what="service", name=path, field="path") from None
            else:
                entries = _entries(reply.body)
            try:
                chunk, token = page(entries, request.page_size, request.page_token, path)
            except ValueError as exc:
                raise invalid_argument([("page_token", str(exc))]) from None
        except ApiError as error:
            await abort(context, error)
        return nso_pb2.ListServicesResponse(
            services=[_instance(path, entry) for entry in chunk], next_page_token=token
        )


def _entries(body: Any) -> list[Any]:
    if not isinstance(body, dict) or len(body) != 1:
        return []
    inner = next(iter(body.values()))
    return inner if isinstance(inner, list) else [inner]


def _instance(list_path: str, entry: Any) -> res.ServiceInstance:
    key = entry.get("name", "") if isinstance(entry, dict) else ""
    path = f"{list_path}={encode_key(key)}" if key else list_path
    return res.ServiceInstance(path=path, config=to_struct(entry))
