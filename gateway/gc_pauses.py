"""Short garbage-collector pauses for a long-running server process.

CPython's cyclic collector stops the whole process while it walks every
object of the generation it collects.  Once start-up has imported gRPC,
SQLAlchemy, lxml and the rest, the oldest generation holds well over a
hundred thousand objects that live as long as the process; walking them all
took 160 ms at a time on a 2-core machine, and every call in flight waited
that long (the tail of the orchestrator API's latencies was exactly these
pauses).

:func:`freeze_startup_objects` collects once and then moves everything
allocated so far to the permanent generation (:func:`gc.freeze`), which the
collector no longer walks.  Objects made later are collected as before; the
frozen ones are the modules, classes, settings and components, which are
never garbage while the process runs.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect, then exempt every object alive now from later collections; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
