"""The extension point through which reservations reach the network.

The provider agent keeps the NSI state machines, allocation and timers
itself; a backend only does what the network must do, and says whether it
could.  Every method is called inside the transaction that records its
outcome (the agent's store thread awaits them on the event loop), so a
backend must answer promptly (seconds at most), must not call back into the
agent service, and must be idempotent for a given (connection id, criteria
version): after a crash the same call may be repeated.

A backend that talks to another system over the network sets ``remote = True``:
the agent then calls its reserve check, modify, activate, deactivate,
terminate and health *outside* its transactions (intent recorded first, the
outcome in a following transaction; see ``gateway/agent/steps.py``), so a
slow or unreachable network never holds the database's write lock.  Commit
and abort are still called inside the transaction: they must not block.

A local backend whose methods never await anything (they compute and return)
may set ``inline = True`` (optional, default False): the agent then runs each
call to its end on the database thread inside the transaction, instead of
handing it to the event loop and waiting there with the write lock held.  A
call of an inline backend that does suspend is a programming error
(RuntimeError).

Failures are reported by raising :class:`BackendError`; the agent turns them
into the NSI outcome (reserveFailed, activateFailed errorEvent...).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gateway.agent.domain.reservation import Criteria
from gateway.agent.domain.topology import Port


class BackendError(Exception):
    """The network could not do what was asked; the message says why (no secrets).

    ``variables`` (NSI type/value pairs) go into the serviceException of the
    outcome, e.g. the network's own error message.
    """

    def __init__(self, message: str, variables: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.variables: list[tuple[str, str]] = list(variables or [])


@runtime_checkable
class Backend(Protocol):
    name: str
    remote: bool  # calls take network time: run them outside the agent's transactions

    async def reserve_check(self, connection_id: str, criteria: Criteria) -> None:
        """Can the network carry ``criteria`` (VLANs chosen)?  Raise BackendError if not."""
        ...

    async def commit(self, connection_id: str, criteria: Criteria) -> None:
        """The held version becomes the one in force (nothing is active yet)."""
        ...

    async def abort(self, connection_id: str, criteria: Criteria) -> None:
        """Forget a held version that will not be committed."""
        ...

    async def modify(self, connection_id: str, old: Criteria, new: Criteria) -> None:
        """Apply a committed modify to a service that may be active (capacity, schedule)."""
        ...

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        """Put the data plane up."""
        ...

    async def deactivate(self, connection_id: str, criteria: Criteria) -> None:
        """Take the data plane down."""
        ...

    async def terminate(self, connection_id: str, criteria: Criteria | None) -> None:
        """Remove everything of the connection from the network."""
        ...

    async def health(self, connection_id: str, criteria: Criteria) -> bool:
        """Is an active data plane still up?  False ends the connection (forcedEnd)."""
        ...

    async def topology(self) -> list[Port] | None:
        """The ports the network offers, or None to use the topology store as it is."""
        ...
