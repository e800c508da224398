"""``nsgw serve`` with the test operation kinds: a real gateway process for restart tests.

Run as ``python -m tests.e2e.jobs_gateway``; settings come from NSGW_* variables.
"""

from __future__ import annotations

import asyncio

from gateway.assembly import build_components
from gateway.config import load_settings
from gateway.logs import configure_logging
from gateway.operations.component import OperationsComponent
from gateway.process import Gateway
from tests.gateway.operations.harness import Gates, JobsComponent, register_test_kinds


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    components = build_components(settings)
    ops = next(c for c in components if isinstance(c, OperationsComponent))
    register_test_kinds(ops.engine, Gates())
    asyncio.run(Gateway(settings, [*components, JobsComponent(ops.starter)]).run())


if __name__ == "__main__":
    main()
