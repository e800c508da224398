"""The NSO backend: NSI reservations become NSO service instances.

- reserve check: a native dry-run of the service (PUT) that must succeed; the
  diff is kept (``nso_backend_service``), a refusal fails the reserve (00800,
  NSO's message in the variable ``nso-error``);
- commit, abort: nothing in NSO;
- activate: create the instance (commit queue and label as configured), with
  bounded retries while NSO is unreachable or busy; a failure removes what it
  created and is reported (activateFailed, NSO's error in the event);
- modify of an active connection: patch the instance (capacity);
- deactivate, terminate: delete the instance (already gone is fine);
- health: the service's check-sync (``deep-check-sync`` by default, against the
  devices); out of sync ends the connection (errorEvent);
- topology (optional): STPs from device interfaces marked ``nsi-stp``.

All calls are idempotent per connection and version (PUT/DELETE of one
instance) and are made by the agent outside its transactions (``remote``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.nso_restconf import (
    CommitParams,
    CommitQueueMode,
    DryRunFormat,
    NotFound,
    NsoClient,
    NsoError,
    NsoTimeout,
    ServerError,
    device_path,
)
from adapters.nso_restconf.results import QueueItemStatus, action_output
from gateway.agent import store
from gateway.agent.backends.base import BackendError
from gateway.agent.backends.nso_mapping import (
    DevicePort,
    MappingError,
    ServiceMapping,
    ServiceRequest,
    load_mapping,
)
from gateway.agent.backends.nso_records import (
    ACTIVATE_FAILED,
    ACTIVE,
    REMOVE_FAILED,
    REMOVED,
    NsoRecords,
)
from gateway.agent.backends.nso_topology import TopologyMarkError, stps_from_devices
from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.reservation import Criteria
from gateway.agent.domain.stp import parse_stp
from gateway.agent.domain.topology import Port
from gateway.config import ConfigError, Settings
from gateway.db import Database
from gateway.logs import get_logger
from gateway.nso import nso_client_from_settings

log = get_logger(__name__)

NSO_ERROR = "nso-error"  # NSI variable type carrying NSO's message
HEALTH_ACTIONS = ("check-sync", "deep-check-sync")
T = TypeVar("T")


def _nso_message(exc: NsoError) -> str:
    return (getattr(exc, "message", "") or str(exc)).strip()


def _transient(exc: NsoError) -> bool:
    """NSO down or busy: worth trying again (it did not act)."""
    return exc.retryable or isinstance(exc, NsoTimeout)


class NsoBackend:
    name = "nso"
    remote = True

    def __init__(
        self,
        client: NsoClient,
        db: Database,
        mapping: ServiceMapping,
        *,
        commit_queue: CommitQueueMode | None = None,
        label: bool = True,
        retries: int = 3,
        retry_delay: float = 2.0,
        health_action: str = "deep-check-sync",
        derive_topology: bool = False,
        topology_interval: float = 300.0,
        queue_timeout: float = 60.0,
    ) -> None:
        if health_action not in HEALTH_ACTIONS:
            raise ConfigError(
                f"nso_backend_health_action: {health_action!r} is not one of "
                f"{', '.join(HEALTH_ACTIONS)}"
            )
        self.client, self.db, self.mapping = client, db, mapping
        self.records = NsoRecords(db)
        self.commit_queue, self.label = commit_queue, label
        self.retries, self.retry_delay = retries, retry_delay
        self.health_action = health_action
        self.derive_topology = derive_topology
        self.topology_interval = topology_interval if derive_topology else None
        self.queue_timeout = queue_timeout

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- mapping ----------------------------------------------------------------
    async def _description(self, connection_id: str) -> str:
        async with self.db.sessions() as session:
            row = await session.run_sync(store.load_row, connection_id)
        return row.description if row is not None else ""

    async def _device_port(self, stp: str) -> DevicePort:
        ref = parse_stp(stp)
        async with self.db.sessions() as session:
            port = await session.run_sync(store.get_port, ref.local_id)
        if port is None:
            raise BackendError(f"STP {ref.local_id} is no longer in the topology")
        return DevicePort.parse(port.port, ref.local_id)

    async def _instance(self, connection_id: str, criteria: Criteria) -> tuple[str, Any]:
        """The service path and payload of a reservation version."""
        if criteria.source_vlan is None or criteria.dest_vlan is None:
            raise BackendError("no VLANs chosen for the reservation")
        try:
            source = await self._device_port(criteria.source_stp)
            dest = await self._device_port(criteria.dest_stp)
            request = ServiceRequest(
                name=connection_id,
                connection_id=connection_id,
                description=await self._description(connection_id),
                version=criteria.version,
                capacity=criteria.capacity,
                source_stp=criteria.source_stp,
                dest_stp=criteria.dest_stp,
                source_device=source.device,
                source_interface=source.interface,
                source_vlan=criteria.source_vlan,
                dest_device=dest.device,
                dest_interface=dest.interface,
                dest_vlan=criteria.dest_vlan,
            )
            return self.mapping.path(connection_id), self.mapping.payload(request)
        except (MappingError, NsiError) as exc:
            raise BackendError(f"cannot map the reservation to an NSO service: {exc}") from None

    def _commit_params(self, connection_id: str) -> CommitParams:
        return CommitParams(
            commit_queue=self.commit_queue, label=connection_id if self.label else None
        )

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, tried again (bounded, doubling delays) while NSO is down or busy."""
        delay = self.retry_delay
        for attempt in range(self.retries + 1):
            try:
                return await call()
            except NsoError as exc:
                if not _transient(exc) or attempt == self.retries:
                    raise
                log.warning(
                    "NSO not available; retrying", what=what, attempt=attempt + 1, error=str(exc)
                )
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lifecycle --------------------------------------------------------------
    async def reserve_check(self, connection_id: str, criteria: Criteria) -> None:
        path, body = await self._instance(connection_id, criteria)
        params = CommitParams(dry_run=DryRunFormat.NATIVE)
        try:
            result = await self._retrying(
                "reserve check", lambda: self.client.put(path, body, params=params)
            )
        except NsoError as exc:
            message = _nso_message(exc)
            await self.records.refused(connection_id, path, criteria.version, message)
            raise BackendError(
                f"NSO refused the service: {message}", [(NSO_ERROR, message)]
            ) from None
        diff = result.dry_run.text if result.dry_run is not None else ""
        await self.records.checked(connection_id, path, criteria.version, diff)

    async def commit(self, connection_id: str, criteria: Criteria) -> None:
        return None  # nothing changes in NSO until the data plane goes up

    async def abort(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        path, body = await self._instance(connection_id, criteria)
        params = self._commit_params(connection_id)
        try:
            result = await self._retrying(
                "activate", lambda: self.client.put(path, body, params=params)
            )
            if result.commit_queue_id is not None and self.commit_queue is CommitQueueMode.ASYNC:
                item = await self.client.wait_for_queue_item(
                    result.commit_queue_id, timeout=self.queue_timeout
                )
                if item.status is not QueueItemStatus.COMPLETED:
                    raise BackendError(
                        f"NSO commit-queue item {item.id} ended {item.status.value}",
                        [(NSO_ERROR, f"commit-queue item {item.status.value}")],
                    )
        except (NsoError, BackendError) as exc:
            message = _nso_message(exc) if isinstance(exc, NsoError) else str(exc)
            await self._clean_up(connection_id, path)
            await self.records.state(connection_id, path, ACTIVATE_FAILED, message)
            raise BackendError(
                f"NSO could not create the service: {message}", [(NSO_ERROR, message)]
            ) from None
        await self.records.state(connection_id, path, ACTIVE)

    async def _clean_up(self, connection_id: str, path: str) -> None:
        """Remove whatever a failed activation may have left (nothing half-created)."""
        try:
            # with the activation's commit parameters: with a commit queue the removal is
            # queued for devices that cannot be reached now, and the instance leaves NSO.
            params = self._commit_params(connection_id)
            try:
                await self._retrying("clean up", lambda: self.client.delete(path, params=params))
            except ServerError:  # e.g. DeviceOutOfSync
                # the failed push left a device out of sync: remove the instance anyway
                forced = params.model_copy(update={"no_out_of_sync_check": True})
                await self._retrying("clean up", lambda: self.client.delete(path, params=forced))
        except NotFound:
            return
        except NsoError as exc:
            log.error(
                "could not remove a service after a failed activation",
                connection_id=connection_id,
                path=path,
                error=str(exc),
            )

    async def modify(self, connection_id: str, old: Criteria, new: Criteria) -> None:
        path, body = await self._instance(connection_id, new)
        try:
            if not await self._retrying("modify", lambda: self.client.exists(path)):
                return  # not active: the new version is used at the next activation
            await self._retrying(
                "modify",
                lambda: self.client.merge(path, body, params=self._commit_params(connection_id)),
            )
        except NsoError as exc:
            message = _nso_message(exc)
            raise BackendError(
                f"NSO could not change the service: {message}", [(NSO_ERROR, message)]
            ) from None

    async def deactivate(self, connection_id: str, criteria: Criteria) -> None:
        await self._remove(connection_id, criteria)

    async def terminate(self, connection_id: str, criteria: Criteria | None) -> None:
        await self._remove(connection_id, criteria)

    async def _remove(self, connection_id: str, criteria: Criteria | None) -> None:
        del criteria  # the instance is named by the connection: every version is one instance
        path = self.mapping.path(connection_id)
        params = self._commit_params(connection_id)
        try:
            await self._retrying("remove", lambda: self.client.delete(path, params=params))
        except NotFound:
            pass
        except NsoError as exc:
            message = _nso_message(exc)
            await self.records.state(connection_id, path, REMOVE_FAILED, message)
            raise BackendError(
                f"NSO could not delete the service: {message}", [(NSO_ERROR, message)]
            ) from None
        await self.records.state(connection_id, path, REMOVED)

    async def health(self, connection_id: str, criteria: Criteria) -> bool:
        path = self.mapping.path(connection_id)
        try:
            body = await self.client.action(f"{path}/{self.health_action}", None, idempotent=True)
            in_sync = bool(action_output(body).get("in-sync", False))
        except NotFound:
            in_sync, detail = False, "the service instance is missing in NSO"
            await self.records.health(connection_id, path, in_sync, detail)
            return False
        except NsoError as exc:
            raise BackendError(f"NSO health check failed: {_nso_message(exc)}") from None
        detail = "in sync" if in_sync else f"out of sync ({self.health_action})"
        await self.records.health(connection_id, path, in_sync, detail)
        return in_sync

    async def topology(self) -> list[Port] | None:
        if not self.derive_topology:
            return None
        try:
            devices = await self.client.devices.all()
            configs: dict[str, dict[str, Any]] = {}
            for device in devices:
                reply = await self.client.get(device_path(device.name, "config"))
                configs[device.name] = reply.value if isinstance(reply.value, dict) else {}
            return stps_from_devices(configs)
        except NsoError as exc:
            raise BackendError(f"cannot read the topology from NSO: {exc}") from None
        except TopologyMarkError as exc:
            raise BackendError(f"bad {exc}") from None


def nso_backend_from_settings(settings: Settings, db: Database) -> NsoBackend:
    try:
        mapping = load_mapping(settings.nso_backend_service_path, settings.nso_backend_template)
    except MappingError as exc:
        raise ConfigError(str(exc)) from None
    queue = settings.nso_backend_commit_queue
    try:
        commit_queue = CommitQueueMode(queue) if queue else None
    except ValueError:
        raise ConfigError(
            f"nso_backend_commit_queue: {queue!r} is not one of async, sync, bypass"
        ) from None
    return NsoBackend(
        nso_client_from_settings(settings),
        db,
        mapping,
        commit_queue=commit_queue,
        label=settings.nso_backend_label,
        retries=settings.nso_backend_retries,
        retry_delay=settings.nso_backend_retry_delay,
        health_action=settings.nso_backend_health_action,
        derive_topology=settings.nso_backend_topology,
        topology_interval=settings.nso_backend_topology_interval,
        queue_timeout=settings.nso_timeout * 2,
    )
