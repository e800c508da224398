"""What is due when: the timers of a connection.

- hold timeout: a held reservation that is not committed or aborted within
  ``hold_timeout`` seconds goes to ReserveTimeout;
- start: at the committed start time the data plane is activated if the
  connection is provisioned;
- end: at the end time the data plane is deactivated and the lifecycle goes to
  PassedEndTime, whether or not the connection was ever provisioned.

Due times are stored; after a restart an overdue timer fires at once and a
future one at its original time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

DEFAULT_HOLD_TIMEOUT = 120.0


class TimerKind(Enum):
    HOLD_TIMEOUT = "hold-timeout"
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Timer:
    connection_id: str
    kind: TimerKind
    due: datetime
    version: int  # the criteria version the timer belongs to (stale ones are ignored)


def hold_timer(connection_id: str, version: int, now: datetime, hold_timeout: float) -> Timer:
    return Timer(
        connection_id, TimerKind.HOLD_TIMEOUT, now + timedelta(seconds=hold_timeout), version
    )


def schedule_timers(
    connection_id: str, version: int, start: datetime, end: datetime | None, now: datetime
) -> list[Timer]:
    """The start and end timers of a version committed at ``now``.

    A start that is not ahead needs no timer: the commit itself brings the data
    plane to what the states say, and so does every later provision.
    """
    timers = []
    if start > now:
        timers.append(Timer(connection_id, TimerKind.START, start, version))
    if end is not None:
        timers.append(Timer(connection_id, TimerKind.END, end, version))
    return timers


def seconds_until(due: datetime, now: datetime) -> float:
    """How long to sleep until ``due`` (0 when it is overdue)."""
    return max(0.0, (due - now).total_seconds())
