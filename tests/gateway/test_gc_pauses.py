import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway.gc_pauses import freeze_startup_objects


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


def cycle() -> Node:
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    return a


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_live_objects_leave_the_collectors_walk_and_garbage_is_freed_first() -> None:
    alive = cycle()
    garbage = weakref.ref(cycle())  # unreachable, but kept by its own cycle
    assert garbage() is not None

    frozen = freeze_startup_objects()

    assert frozen > 0
    assert garbage() is None  # collected, not frozen for ever
    walked = {id(obj) for obj in gc.get_objects()}
    assert id(alive) not in walked
    assert id(alive.peer) not in walked


@pytest.mark.usefixtures("unfrozen")
def test_objects_made_later_are_still_collected() -> None:
    freeze_startup_objects()
    later = weakref.ref(cycle())
    assert later() is not None
    gc.collect()
    assert later() is None
