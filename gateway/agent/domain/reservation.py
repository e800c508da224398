"""A connection (reservation) of this provider: its criteria versions and states.

A reserve creates version 1 (or the version the requester names).  A modify
is a reserve on an existing connection with a higher version that fills in
only what changes (capacity and/or schedule); every field it leaves out is
kept from the committed version.  The new version is *held* next to the
committed one until commit (it replaces it) or abort/timeout (the committed
version stays as it was).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from gateway.agent.domain.errors import (
    CAPACITY,
    CONNECTION_ID,
    DEST_STP,
    DIRECTIONALITY,
    END_TIME,
    SOURCE_STP,
    VERSION,
    ErrorCode,
    NsiError,
)
from gateway.agent.domain.states import (
    DATA_PLANE,
    LIFECYCLE,
    PROVISION,
    RESERVATION,
    DataPlaneEvent,
    DataPlaneState,
    LifecycleEvent,
    LifecycleState,
    ProvisionEvent,
    ProvisionState,
    ReservationEvent,
    ReservationState,
    transition,
)

EVTS_SERVICE_TYPE = "http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE"
BIDIRECTIONAL = "Bidirectional"


@dataclass(frozen=True)
class CriteriaRequest:
    """Criteria as a request gives them; None means "not given"."""

    version: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    capacity: int | None = None
    source_stp: str | None = None
    dest_stp: str | None = None
    directionality: str | None = None
    symmetric_path: bool | None = None
    service_type: str | None = None
    eros: tuple[str, ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Criteria:
    """One complete criteria version.  VLANs are the ones chosen (None until checked)."""

    version: int
    start: datetime
    end: datetime | None
    capacity: int
    source_stp: str
    dest_stp: str
    directionality: str = BIDIRECTIONAL
    symmetric_path: bool = True
    service_type: str = EVTS_SERVICE_TYPE
    eros: tuple[str, ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    source_vlan: int | None = None
    dest_vlan: int | None = None


def _check_values(capacity: int, start: datetime, end: datetime | None, now: datetime) -> None:
    if capacity <= 0:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            "capacity must be positive",
            [(CAPACITY, str(capacity))],
        )
    if end is not None and end <= start:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            "end time is not after start time",
            [(END_TIME, end.isoformat())],
        )
    if end is not None and end <= now:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            "end time is in the past",
            [(END_TIME, end.isoformat())],
        )


def new_criteria(request: CriteriaRequest, now: datetime) -> Criteria:
    """Version 1 (or the given version) of a new reservation, validated."""
    if not request.source_stp:
        raise NsiError(ErrorCode.MISSING_PARAMETER, "no source STP", [(SOURCE_STP, "")])
    if not request.dest_stp:
        raise NsiError(ErrorCode.MISSING_PARAMETER, "no destination STP", [(DEST_STP, "")])
    if request.capacity is None:
        raise NsiError(ErrorCode.MISSING_PARAMETER, "no capacity", [(CAPACITY, "")])
    directionality = request.directionality or BIDIRECTIONAL
    if directionality != BIDIRECTIONAL:
        raise NsiError(
            ErrorCode.DIRECTIONALITY_MISMATCH,
            "only bidirectional services are offered",
            [(DIRECTIONALITY, directionality)],
        )
    start = request.start if request.start is not None and request.start > now else now
    _check_values(request.capacity, start, request.end, now)
    return Criteria(
        version=request.version or 1,
        start=start,
        end=request.end,
        capacity=request.capacity,
        source_stp=request.source_stp,
        dest_stp=request.dest_stp,
        directionality=directionality,
        symmetric_path=True if request.symmetric_path is None else request.symmetric_path,
        service_type=request.service_type or EVTS_SERVICE_TYPE,
        eros=request.eros,
        parameters=request.parameters,
    )


def modified_criteria(previous: Criteria, request: CriteriaRequest, now: datetime) -> Criteria:
    """The next version: what the modify gives, the rest kept from ``previous``.

    Only capacity and schedule may change; a different STP is refused (00102).
    A version that is not higher than the current one is refused (00102).
    """
    version = request.version if request.version else previous.version + 1
    if version <= previous.version:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            f"a modify needs a version above {previous.version}",
            [(VERSION, str(version))],
        )
    for variable, given, kept in (
        (SOURCE_STP, request.source_stp, previous.source_stp),
        (DEST_STP, request.dest_stp, previous.dest_stp),
    ):
        if given and given != kept and not _same_port_chosen_vlan(given, previous, variable):
            raise NsiError(
                ErrorCode.UNSUPPORTED_PARAMETER,
                "a modify may change capacity and schedule only",
                [(variable, given)],
            )
    start = previous.start if request.start is None else max(request.start, now)
    if request.start is not None and previous.start <= now:
        start = previous.start  # a started reservation keeps its start
    end = previous.end if request.end is None else request.end
    capacity = previous.capacity if not request.capacity else request.capacity
    _check_values(capacity, start, end, now)
    return replace(previous, version=version, start=start, end=end, capacity=capacity)


def _same_port_chosen_vlan(given: str, previous: Criteria, variable: str) -> bool:
    """A modify may repeat the STP with the VLAN that was chosen for it."""
    vlan = previous.source_vlan if variable == SOURCE_STP else previous.dest_vlan
    requested = previous.source_stp if variable == SOURCE_STP else previous.dest_stp
    base = requested.partition("?")[0]
    return given in (base, f"{base}?vlan={vlan}")


@dataclass
class Reservation:
    """The aggregate: states of the four machines and the committed and held versions."""

    connection_id: str
    global_reservation_id: str = ""
    description: str = ""
    requester_nsa: str = ""
    reservation_state: ReservationState = ReservationState.START
    provision_state: ProvisionState | None = None  # exists from the first commit on
    lifecycle_state: LifecycleState = LifecycleState.CREATED
    data_plane: DataPlaneState = DataPlaneState.INACTIVE
    data_plane_version: int = 0
    committed: Criteria | None = None
    held: Criteria | None = None
    history: list[Criteria] = field(default_factory=list)

    # -- guards -----------------------------------------------------------
    def _refuse(self, detail: str) -> NsiError:
        return NsiError(ErrorCode.INVALID_TRANSITION, detail, [(CONNECTION_ID, self.connection_id)])

    def _require_live(self, what: str) -> None:
        if self.lifecycle_state is not LifecycleState.CREATED:
            raise self._refuse(f"{what} not allowed in {self.lifecycle_state.value}")

    def _rsm(self, event: ReservationEvent) -> ReservationState:
        return transition(RESERVATION, self.reservation_state, event, self.connection_id)

    # -- reservation state machine ---------------------------------------
    def begin_reserve(self, criteria: Criteria) -> None:
        self._require_live("reserve")
        self.reservation_state = self._rsm(ReservationEvent.RESERVE)
        self.held = criteria

    def confirm_reserve(self, source_vlan: int, dest_vlan: int) -> Criteria:
        self.reservation_state = self._rsm(ReservationEvent.CONFIRM)
        assert self.held is not None
        self.held = replace(self.held, source_vlan=source_vlan, dest_vlan=dest_vlan)
        return self.held

    def fail_reserve(self) -> None:
        self.reservation_state = self._rsm(ReservationEvent.FAIL)

    def begin_commit(self) -> None:
        self._require_live("reserveCommit")
        self.reservation_state = self._rsm(ReservationEvent.COMMIT)

    def confirm_commit(self) -> Criteria:
        self.reservation_state = self._rsm(ReservationEvent.COMMIT_CONFIRM)
        assert self.held is not None
        self.committed, self.held = self.held, None
        self.history.append(self.committed)
        if self.provision_state is None:
            self.provision_state = ProvisionState.RELEASED
        return self.committed

    def fail_commit(self) -> None:
        self.reservation_state = self._rsm(ReservationEvent.COMMIT_FAIL)
        self.held = None

    def begin_abort(self) -> None:
        self._require_live("reserveAbort")
        self.reservation_state = self._rsm(ReservationEvent.ABORT)

    def confirm_abort(self) -> None:
        """Back to ReserveStart; the committed version (if any) is in force again."""
        self.reservation_state = self._rsm(ReservationEvent.ABORT_CONFIRM)
        self.held = None

    def hold_timeout(self) -> None:
        self.reservation_state = self._rsm(ReservationEvent.TIMEOUT)

    # -- provision state machine -----------------------------------------
    def _psm(self, event: ProvisionEvent) -> None:
        if self.provision_state is None:
            raise self._refuse(f"{event.value} before the first commit")
        self.provision_state = transition(
            PROVISION, self.provision_state, event, self.connection_id
        )

    def begin_provision(self) -> None:
        self._require_live("provision")
        self._psm(ProvisionEvent.PROVISION)

    def confirm_provision(self) -> None:
        self._psm(ProvisionEvent.PROVISION_CONFIRM)

    def begin_release(self) -> None:
        self._require_live("release")
        self._psm(ProvisionEvent.RELEASE)

    def confirm_release(self) -> None:
        self._psm(ProvisionEvent.RELEASE_CONFIRM)

    # -- lifecycle state machine ------------------------------------------
    def _lsm(self, event: LifecycleEvent) -> None:
        self.lifecycle_state = transition(
            LIFECYCLE, self.lifecycle_state, event, self.connection_id
        )

    def begin_terminate(self) -> None:
        self._lsm(LifecycleEvent.TERMINATE)

    def confirm_terminate(self) -> None:
        self._lsm(LifecycleEvent.TERMINATE_CONFIRM)

    def end_time_reached(self) -> None:
        self._lsm(LifecycleEvent.END_TIME)

    def forced_end(self) -> None:
        self._lsm(LifecycleEvent.FORCED_END)

    # -- data plane --------------------------------------------------------
    def should_be_active(self, now: datetime) -> bool:
        """Active exactly when provisioned, live and start <= now < end."""
        c = self.committed
        return (
            c is not None
            and self.lifecycle_state is LifecycleState.CREATED
            and self.provision_state in (ProvisionState.PROVISIONED, ProvisionState.PROVISIONING)
            and c.start <= now
            and (c.end is None or now < c.end)
        )

    def set_data_plane(self, active: bool) -> bool:
        """Move the data plane; True if it changed (a notification is due)."""
        target = DataPlaneState.ACTIVE if active else DataPlaneState.INACTIVE
        if target is self.data_plane:
            return False
        event = DataPlaneEvent.ACTIVATE if active else DataPlaneEvent.DEACTIVATE
        self.data_plane = transition(DATA_PLANE, self.data_plane, event, self.connection_id)
        if self.committed is not None:
            self.data_plane_version = self.committed.version
        return True

    @property
    def holds_resources(self) -> bool:
        """Whether allocations of this connection still count against the ports."""
        return self.lifecycle_state is LifecycleState.CREATED
