"""The benchmark harness's arithmetic (the figures themselves are for make bench)."""

from __future__ import annotations

from bench.harness import Measurement, Result, format_table, measure


def _m(label: str, count: int, seconds: float, latencies: list[float]) -> Measurement:
    return Measurement(label, count, seconds, latencies)


def test_percentiles_and_throughput() -> None:
    m = _m("x", 100, 2.0, [i / 1000 for i in range(1, 101)])
    assert m.ops_per_second == 50
    assert m.p50 == 0.05 or m.p50 == 0.051
    assert m.p99 == 0.099 or m.p99 == 0.1


def test_ratio_is_against_the_baseline_and_checked_against_the_goal() -> None:
    floor = _m("floor", 1000, 1.0, [0.001] * 10)
    slower = _m("mine", 1000, 2.0, [0.003] * 10)
    throughput = Result("case", slower, floor, metric="throughput", goal=1.5)
    assert throughput.ratio == 2.0
    assert throughput.met is False
    latency = Result("case", slower, floor, metric="p50", goal=5)
    assert latency.ratio == 3.0
    assert latency.met is True
    table = format_table([throughput, latency])
    assert "2.00x (throughput)" in table
    assert "MISSED" in table
    assert "3.00x (p50)" in table


async def test_measure_makes_exactly_the_calls_asked_for() -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1

    m = await measure("count", call, count=50, concurrency=4, warmup=5)
    assert m.count == 50
    assert calls == 55
    assert len(m.latencies) == 50
