"""NSO client: overhead over raw httpx, and concurrent check-sync of 200 devices.

The simulator runs as a child process (``nsgw nso-sim``) on a free loopback
port, so client and server do not share an event loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from adapters.nso_restconf import NsoClient, NsoConfig, device_path
from bench.harness import Measurement, Result, measure
from bench.servers import free_port, process

AUTH = ("admin", "admin")
HEADERS = {"Accept": "application/yang-data+json"}
CONCURRENCY = 20
DEVICE_LATENCY_MS = 100  # NSO's check-sync talks to the device: tens to hundreds of ms


@asynccontextmanager
async def nso_sim(*args: str) -> AsyncIterator[str]:
    port = free_port()
    nsgw = Path(sys.executable).with_name("nsgw")
    async with process(str(nsgw), "nso-sim", "--port", str(port), *args):
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                try:
                    await http.get(f"{url}/.well-known/host-meta")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the NSO simulator did not start")
        yield url


def _fleet(count: int) -> dict[str, object]:
    devices = [
        {
            "name": f"r{i:03d}",
            "ned-id": "cisco-ios-cli-6.100",
            "port": 20000 + i,
            "platform": {"name": "ios", "version": "17.9.4", "model": "C8300"},
            "config": {
                "hostname": f"r{i:03d}",
                "interface": [{"name": f"GigabitEthernet0/0/{n}", "mtu": 9000} for n in range(4)],
            },
        }
        for i in range(count)
    ]
    return {"devices": devices}


async def _overhead(url: str, count: int) -> list[Result]:
    results = []
    get_path = device_path("pe0", "platform")
    action = device_path("pe0", "check-sync")
    config = NsoConfig(url=url, password="admin", max_concurrency=CONCURRENCY)
    async with (
        NsoClient(config) as nso,
        httpx.AsyncClient(
            base_url=f"{url}/restconf",
            auth=AUTH,
            headers=HEADERS,
            limits=httpx.Limits(max_connections=CONCURRENCY),
        ) as http,
    ):

        async def raw_get() -> None:
            reply = await http.get(f"/data/{get_path}")
            reply.raise_for_status()
            reply.json()

        async def raw_check_sync() -> None:
            reply = await http.post(f"/data/{action}")
            reply.raise_for_status()
            reply.json()["tailf-ncs:output"]["result"]

        async def client_get() -> None:
            await nso.get(get_path)

        async def client_check_sync() -> None:
            await nso.devices.check_sync("pe0")

        for concurrency in (1, 10):
            for name, mine, floor in (
                ("GET", client_get, raw_get),
                ("check-sync", client_check_sync, raw_check_sync),
            ):
                # Alternate floor and client; keep the best of each (the host is shared).
                runs: dict[str, list[Measurement]] = {"raw": [], "client": []}
                for _ in range(3):
                    runs["raw"].append(
                        await measure("raw httpx", floor, count=count, concurrency=concurrency)
                    )
                    runs["client"].append(
                        await measure("client", mine, count=count, concurrency=concurrency)
                    )
                best = {k: max(v, key=lambda m: m.ops_per_second) for k, v in runs.items()}
                results.append(
                    Result(
                        f"nso client {name}, {concurrency} worker(s)",
                        best["client"],
                        best["raw"],
                        metric="throughput",
                        goal=1.3,
                        note="floor: raw httpx, same requests"
                        if concurrency == 1 and name == "GET"
                        else "",
                    )
                )
    return results


async def _fleet_check_sync(url: str, sweeps: int) -> Result:
    config = NsoConfig(url=url, password="admin", max_concurrency=CONCURRENCY)
    names = [f"r{i:03d}" for i in range(200)]
    async with NsoClient(config) as nso:

        async def one_at_a_time() -> None:
            for name in names:
                assert (await nso.devices.check_sync(name)).in_sync

        async def concurrent() -> None:
            results = await nso.devices.check_sync_many(names)
            assert all(r.in_sync for r in results)

        serial = await measure("one at a time", one_at_a_time, count=sweeps, warmup=0)
        nso.transport.peak_in_flight = 0
        together = await measure("concurrent", concurrent, count=sweeps, warmup=1)
        peak = nso.transport.peak_in_flight
    assert peak <= CONCURRENCY
    return Result(
        "nso check-sync 200 devices (sweep)",
        together,
        serial,
        metric="throughput",
        goal=0.1,
        note=(
            f"{DEVICE_LATENCY_MS} ms simulated device round trip per check-sync; "
            f"concurrent within a limit of "
            f"{CONCURRENCY} (peak {peak} in flight) vs one at a time; "
            f"speed-up {serial.seconds / serial.count / (together.seconds / together.count):.1f}x "
            "(goal >= 10x, i.e. ratio <= 0.1)"
        ),
    )


async def run(quick: bool) -> list[Result]:
    count = 300 if quick else 2000
    async with nso_sim() as url:
        results = await _overhead(url, count)
    with tempfile.TemporaryDirectory(prefix="nsgw-bench-nso-") as tmp:
        data = Path(tmp) / "fleet.json"
        data.write_text(json.dumps(_fleet(200)))
        latency = str(DEVICE_LATENCY_MS)
        async with nso_sim("--data", str(data), "--device-latency-ms", latency) as url:
            results.append(await _fleet_check_sync(url, 1 if quick else 3))
    return results
