"""Service actions on a service instance: re-deploy, check-sync, get-modifications, un-deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.nso_restconf.commit import CommitParams, DryRunFormat
from adapters.nso_restconf.dryrun import DryRunResult, parse_dry_run
from adapters.nso_restconf.results import ServiceCheckSync, WriteResult, action_output

if TYPE_CHECKING:
    from adapters.nso_restconf.client import NsoClient


class ServiceActions:
    """``client.services``: service instances addressed by their data path."""

    def __init__(self, client: NsoClient) -> None:
        self._client = client

    async def apply(
        self, path: str, body: Any, *, params: CommitParams | None = None
    ) -> WriteResult:
        """Create or replace a service instance (PUT); NSO pushes the device changes."""
        return await self._client.put(path, body, params=params)

    async def delete(self, path: str, *, params: CommitParams | None = None) -> WriteResult:
        return await self._client.delete(path, params=params)

    async def _output(
        self, path: str, action: str, input: dict[str, Any] | None = None, *, safe: bool = False
    ) -> dict[str, Any]:
        body = await self._client.action(f"{path.strip('/')}/{action}", input, idempotent=safe)
        return action_output(body)

    async def re_deploy(self, path: str, *, reconcile: bool = False) -> None:
        """Re-apply the service's configuration to its devices.

        ``reconcile``: take over configuration the devices already carry as the
        service's own (NSO's ``re-deploy reconcile``).
        """
        await self._output(path, "re-deploy", {"reconcile": {}} if reconcile else None)

    async def re_deploy_dry_run(
        self, path: str, outformat: DryRunFormat = DryRunFormat.NATIVE
    ) -> DryRunResult:
        """What a re-deploy would change (the drift); nothing is changed."""
        output = await self._output(
            path, "re-deploy", {"dry-run": {"outformat": outformat.value}}, safe=True
        )
        return parse_dry_run({"output": output})

    async def check_sync(self, path: str) -> ServiceCheckSync:
        output = await self._output(path, "check-sync", safe=True)
        return ServiceCheckSync(
            in_sync=bool(output.get("in-sync", False)), info=str(output.get("info", ""))
        )

    async def get_modifications(self, path: str) -> str:
        """The configuration the service contributes to its devices (cli text)."""
        output = await self._output(path, "get-modifications", safe=True)
        return parse_dry_run({"output": output}).text

    async def un_deploy(self, path: str) -> None:
        """Remove the service's device configuration but keep the instance."""
        await self._output(path, "un-deploy")
