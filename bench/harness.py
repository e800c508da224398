"""Measure async call loops and report them against a baseline from the same run.

A case measures what it is about and a floor (the same work done the simplest
way possible) in one run, on one machine, so the ratio between them means
something wherever it is run.  Absolute figures are printed for context only.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Measurement:
    """Throughput and latency of ``count`` calls made by ``concurrency`` workers."""

    label: str
    count: int
    seconds: float
    latencies: list[float] = field(repr=False)
    concurrency: int = 1

    @property
    def ops_per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)


@dataclass
class Result:
    """One row of the report: a measurement, its baseline and the goal on their ratio.

    ``ratio`` is measured/baseline for the chosen metric: for ``throughput`` it
    is baseline ops/s divided by measured ops/s (so lower is better, like a
    time); for ``p50`` the measured p50 over the baseline p50.
    """

    case: str
    measured: Measurement
    baseline: Measurement | None = None
    metric: str = "throughput"  # throughput | p50 | p99
    goal: float | None = None  # the ratio must be <= goal
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        if self.metric == "throughput":
            return self.baseline.ops_per_second / self.measured.ops_per_second
        mine = self.measured.percentile(float(self.metric[1:]))
        theirs = self.baseline.percentile(float(self.metric[1:]))
        return mine / theirs if theirs else float("inf")

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or self.goal is None:
            return None
        return ratio <= self.goal


async def measure(
    label: str,
    call: Callable[[], Awaitable[object]],
    *,
    count: int,
    concurrency: int = 1,
    warmup: int = 20,
) -> Measurement:
    """Make ``count`` calls of ``call`` from ``concurrency`` workers; time each one."""
    for _ in range(min(warmup, count)):
        await call()
    latencies: list[float] = []
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Measurement(label, len(latencies), elapsed, latencies, concurrency)


def format_table(results: list[Result]) -> str:
    header = ("case", "ops/s", "p50 ms", "p99 ms", "floor ops/s", "floor p50", "ratio", "goal")
    rows = [header]
    for r in results:
        m, b = r.measured, r.baseline
        ratio = r.ratio
        verdict = ""
        if r.goal is not None:
            verdict = f"<= {r.goal:g}x {'ok' if r.met else 'MISSED'}"
        rows.append(
            (
                r.case,
                f"{m.ops_per_second:,.0f}",
                f"{m.p50 * 1000:.2f}",
                f"{m.p99 * 1000:.2f}",
                f"{b.ops_per_second:,.0f}" if b else "-",
                f"{b.p50 * 1000:.2f}" if b else "-",
                f"{ratio:.2f}x ({r.metric})" if ratio is not None else "-",
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.case}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
