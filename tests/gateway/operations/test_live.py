"""What the engine keeps in memory for watchers of the operations it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from gateway.operations.live import LiveOperations
from gateway.operations.model import Operation, Progress, State

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def operation(state: State = State.RUNNING) -> Operation:
    return Operation(
        id="op1",
        kind="k",
        target="t",
        state=state,
        caller="c",
        request_id="r",
        create_time=NOW,
        update_time=NOW,
    )


def progress(*indices: int) -> list[Progress]:
    return [Progress(i, NOW, f"message {i}") for i in indices]


def test_a_new_operation_holds_its_changes_from_the_first_message() -> None:
    live = LiveOperations()
    live.begin(operation(State.PENDING))
    record = live.get("op1")
    assert record is not None
    assert not record.has_news(0)
    live.publish(operation(), progress(0), running_here=True)
    live.publish(operation(), progress(1, 2), running_here=True)
    assert record.has_news(0)
    assert record.has_news(2)
    assert not record.has_news(3)
    seen = record.since(1)
    assert [p.index for p in seen.progress] == [1, 2]
    assert seen.state == State.RUNNING


def test_a_gap_starts_the_record_afresh_and_older_changes_are_ignored() -> None:
    live = LiveOperations()
    live.begin(operation(State.PENDING))
    live.publish(operation(), progress(0), running_here=True)
    live.publish(replace(operation(), cancel_requested=True), progress(2), running_here=True)
    record = live.get("op1")
    assert record is not None
    assert not record.has_news(1)  # message 1 was written elsewhere: the database has it
    assert record.has_news(2)
    live.publish(operation(), progress(1), running_here=True)  # late: older than what is held
    assert record.since(2).cancel_requested
    assert record.next_index == 3


def test_an_operation_resumed_here_starts_at_its_first_new_message() -> None:
    live = LiveOperations()
    live.publish(operation(), progress(4), running_here=False)
    assert live.get("op1") is None  # not run here: watchers read the database
    live.publish(operation(), progress(4), running_here=True)
    record = live.get("op1")
    assert record is not None
    assert record.base == 4
    assert not record.has_news(3)


async def test_the_end_wakes_watchers_who_keep_the_record_they_hold() -> None:
    live = LiveOperations()
    live.begin(operation(State.PENDING))
    record = live.get("op1")
    assert record is not None
    woken = live.changed("op1")
    live.publish(operation(State.SUCCEEDED), progress(0, 1), running_here=True)
    assert woken.is_set()
    assert live.get("op1") is None
    assert record.since(0).state == State.SUCCEEDED
    assert record.since(0).progress[-1].index == 1


async def test_the_wake_up_event_goes_with_the_last_watcher() -> None:
    live = LiveOperations()
    with live.watching("op1"):
        first = live.changed("op1")
        with live.watching("op1"):
            assert live.changed("op1") is first
        assert live.changed("op1") is first  # one watcher left
    # Nobody watches: a new watcher gets a new event, nothing is kept meanwhile.
    with live.watching("op1"):
        assert live.changed("op1") is not first
