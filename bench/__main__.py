"""Run the benchmark cases under bench/cases and print one table.

Usage: ``python -m bench [CASE ...] [--quick]``.  Each module in bench/cases
has ``async def run(quick: bool) -> list[Result]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
import time

from bench import cases
from bench.harness import Result, format_table
from gateway.gc_pauses import freeze_startup_objects


def _case_names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(cases.__path__) if not m.name.startswith("_")
    )


async def _run(names: list[str], quick: bool) -> list[Result]:
    results: list[Result] = []
    modules = {name: importlib.import_module(f"bench.cases.{name}") for name in names}
    # The measuring process pauses no longer than the servers it measures.
    freeze_startup_objects()
    for name, module in modules.items():
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(await module.run(quick))
        print(f"  {name} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="nsgw benchmarks")
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all: {_case_names()})")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = parser.parse_args()
    names = args.cases or _case_names()
    unknown = sorted(set(names) - set(_case_names()))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    results = asyncio.run(_run(names, args.quick))
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
