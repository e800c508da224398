"""``nsgw stp``: managing the agent's STPs on the state database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.agent.domain.reservation import CriteriaRequest
from gateway.cli import app
from gateway.db import Database
from tests.gateway.agent.conftest import stp
from tests.gateway.agent.test_store import ctx, service

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "topology.toml"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "NSGW_STATE_DIR": str(tmp_path),
        "NSGW_NETWORK_ID": "example.net:2025:topology",
        "NSGW_DATABASE_URL": "",
    }


def nsgw(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_add_list_modify_disable_enable(env: dict[str, str]) -> None:
    code, out = nsgw(
        env, "stp", "add", "port-1", "--port", "Gi0/1", "--vlans", "100-199", "--capacity", "1000"
    )
    assert code == 0, out
    code, out = nsgw(env, "stp", "list")
    assert "port-1" in out
    assert "100-199" in out
    assert nsgw(env, "stp", "modify", "port-1", "--capacity", "500")[0] == 0
    assert nsgw(env, "stp", "disable", "port-1")[0] == 0
    code, out = nsgw(env, "stp", "list")
    assert "500 Mbit/s" in out
    assert " no " in out
    assert nsgw(env, "stp", "enable", "port-1")[0] == 0
    assert " yes " in nsgw(env, "stp", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vlans", "200-100", "--capacity", "10"], "runs backwards"),
        (["--vlans", "0-5", "--capacity", "10"], "outside"),
        (["--vlans", "10", "--capacity", "0"], "capacity"),
        (["--vlans", "10", "--capacity", "-1"], "capacity"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_added(
    env: dict[str, str], args: list[str], message: str
) -> None:
    code, out = nsgw(env, "stp", "add", "p", "--port", "Gi0/1", *args)
    assert code == 2
    assert message in out
    assert " p " not in nsgw(env, "stp", "list")[1]


def test_duplicate_and_unknown_ids(env: dict[str, str]) -> None:
    add = ["stp", "add", "p", "--port", "Gi0/1", "--vlans", "10", "--capacity", "10"]
    assert nsgw(env, *add)[0] == 0
    code, out = nsgw(env, *add)
    assert code == 2
    assert "exists already" in out
    assert "no STP 'q'" in nsgw(env, "stp", "modify", "q", "--capacity", "5")[1]
    assert "does not exist" in nsgw(env, "stp", "delete", "q")[1]


def test_delete_is_refused_while_a_reservation_uses_the_port(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert nsgw(env, "stp", "load", str(EXAMPLE))[0] == 0

    async def reserve() -> str:
        db = Database(f"sqlite:///{tmp_path / 'nsgw.db'}")
        try:
            return await service(db).reserve(
                ctx(),
                "",
                "",
                "",
                CriteriaRequest(
                    source_stp=stp("port-1"),
                    dest_stp=stp("port-2"),
                    capacity=10,
                    end=datetime.now(UTC) + timedelta(hours=1),
                ),
            )
        finally:
            await db.dispose()

    cid = asyncio.run(reserve())
    code, out = nsgw(env, "stp", "delete", "port-1")
    assert code == 2
    assert "in use" in out
    assert cid in out.replace("\n", "")
    assert nsgw(env, "stp", "delete", "port-3")[0] == 0
    listing = nsgw(env, "stp", "list")[1]
    assert "port-1" in listing
    assert "port-3" not in listing


def test_load_refuses_a_bad_topology_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "topo.toml"
    bad.write_text('[[stp]]\nid = "x"\nport = "p"\nvlans = "1-2"\n')
    code, out = nsgw(env, "stp", "load", str(bad))
    assert code == 2
    assert "'capacity' is missing" in out
