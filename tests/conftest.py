"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from gateway.db import Database
from tests.helpers import free_port
from tests.postgres import postgres_server

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
NSI_SCHEMAS = SHARED / "nsi-schemas"


@pytest.fixture(autouse=True)
def _embedded_nso_simulator_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway built from default settings starts the NSO simulator; never on 8888 in tests."""
    if "NSGW_NSO_SIM_PORT" not in os.environ:
        monkeypatch.setenv("NSGW_NSO_SIM_PORT", str(free_port()))


@pytest.fixture(scope="session")
def postgres_root_url() -> Iterator[str]:
    with postgres_server() as url:
        if url is None:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL is required under CI but no server could be started")
            pytest.skip("no PostgreSQL server available (install postgresql)")
        yield url


@pytest.fixture
def postgres_url(postgres_root_url: str) -> Iterator[str]:
    """A new, empty database on the test server for one test."""
    name = f"nsgw_{uuid.uuid4().hex[:12]}"
    root = make_url(postgres_root_url)
    dsn = root.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield root.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite in a temporary directory, and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    db = Database(database_url)
    await db.migrate()
    yield db
    await db.dispose()
