"""``nsgw reservations``: states, schedule, VLANs and version history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from gateway.agent.component import load_ports
from gateway.agent.domain.reservation import CriteriaRequest
from gateway.cli import app
from gateway.db import Database
from tests.gateway.agent.conftest import DEFAULT_PORTS, stp
from tests.gateway.agent.test_store import ctx, service

runner = CliRunner()


def test_list_and_show_with_history(tmp_path: Path) -> None:
    env = {"NSGW_STATE_DIR": str(tmp_path), "NSGW_DATABASE_URL": ""}

    async def scenario() -> str:
        db = Database(f"sqlite:///{tmp_path / 'nsgw.db'}")
        await db.migrate()
        await load_ports(db, DEFAULT_PORTS)
        agent = service(db)
        end = datetime.now(UTC) + timedelta(hours=1)
        request = CriteriaRequest(
            source_stp=stp("port-1"), dest_stp=stp("port-2"), capacity=100, end=end
        )
        cid = await agent.reserve(ctx(), "", "", "", request)
        await agent.commit(ctx("reserveCommit"), cid)
        await agent.reserve(ctx(), cid, "", "", CriteriaRequest(capacity=300))
        await agent.abort(ctx("reserveAbort"), cid)
        await db.dispose()
        return cid

    cid = asyncio.run(scenario())
    listed = runner.invoke(app, ["reservations", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert cid in listed.output
    assert "ReserveStart" in listed.output
    assert "100/100" in listed.output
    shown = runner.invoke(app, ["reservations", "show", cid], env=env)
    assert shown.exit_code == 0, shown.output
    assert "committed version: 1" in shown.output
    lines = shown.output.splitlines()
    assert any("committed" in line and "100" in line for line in lines)
    assert any("aborted" in line and "300" in line for line in lines)
    missing = runner.invoke(app, ["reservations", "show", "nope"], env=env)
    assert missing.exit_code == 2
    assert "no reservation 'nope'" in missing.output
