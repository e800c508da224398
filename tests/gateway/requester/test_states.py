"""The simple state a connection shows, from its raw NSI states."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.requester.states import Simple, simple_state


@dataclass
class Raw:
    reservation_state: str = "ReserveStart"
    provision_state: str = "Released"
    lifecycle_state: str = "Created"
    data_plane_active: bool = False
    committed: bool = True
    was_provisioned: bool = False
    failure: str = ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Raw(reservation_state="ReserveChecking", committed=False), Simple.RESERVING),
        (Raw(reservation_state="ReserveHeld", committed=False), Simple.RESERVING),
        (Raw(reservation_state="ReserveFailed", committed=False), Simple.FAILED),
        (Raw(reservation_state="ReserveTimeout", committed=False), Simple.FAILED),
        (Raw(), Simple.RESERVED),
        (Raw(provision_state="Provisioning"), Simple.ACTIVATING),
        (Raw(provision_state="Provisioned"), Simple.ACTIVATING),
        (Raw(provision_state="Provisioned", data_plane_active=True), Simple.ACTIVE),
        (Raw(provision_state="Releasing", data_plane_active=True), Simple.DEACTIVATING),
        (Raw(was_provisioned=True), Simple.RELEASED),
        # A held modify of a committed connection keeps it where it is.
        (
            Raw(
                reservation_state="ReserveHeld",
                provision_state="Provisioned",
                data_plane_active=True,
            ),
            Simple.ACTIVE,
        ),
        (Raw(lifecycle_state="Failed"), Simple.FAILED),
        (Raw(failure="dataplaneError"), Simple.FAILED),
        (Raw(lifecycle_state="Terminating"), Simple.DEACTIVATING),
        (Raw(lifecycle_state="Terminated"), Simple.TERMINATED),
        (Raw(lifecycle_state="PassedEndTime"), Simple.TERMINATED),
    ],
)
def test_simple_state(raw: Raw, expected: Simple) -> None:
    assert simple_state(raw) == expected
