"""Prepared statements give what Connection.execute gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from gateway.db import UtcDateTime, one_of_two, one_of_two_params, sync_url
from gateway.prepared import NotPreparable, Prepared

metadata = MetaData()
things = Table(
    "prepared_things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("seen", UtcDateTime(), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("extra", JSON, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("delay", Float, nullable=True),  # PostgreSQL: its processor needs the driver's type
    Column("state", String(16), nullable=False, default="new"),
)
WHEN = datetime(2026, 11, 30, 12, 30, 45, 123456, tzinfo=UTC)
ROW = {
    "id": 1,
    "name": "pe0",
    "seen": WHEN,
    "active": True,
    "extra": {"vlans": [100, 200], "note": None},
    "blob": b"\x00\xffpayload",
    "delay": 2.5,
    "state": "new",
}
BY_ID = select(things).where(things.c.id == bindparam("id"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sync_url(database_url))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_an_insert_reads_back_as_connection_execute_reads_it(engine: Engine) -> None:
    with engine.begin() as connection:
        assert Prepared(insert(things)).execute(connection, ROW) == 1
    with engine.connect() as connection:
        expected = connection.execute(BY_ID, {"id": 1}).one()
        found = Prepared(BY_ID).first(connection, {"id": 1})
    assert tuple(found) == tuple(expected)
    assert found.seen == WHEN
    assert found.seen.tzinfo is not None
    assert (found.extra, found.active, found.blob) == (ROW["extra"], True, ROW["blob"])
    assert found.delay == 2.5
    assert found._fields == tuple(expected._fields)


def test_rows_written_by_connection_execute_read_the_same(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(things), [ROW, {**ROW, "id": 2, "seen": None, "extra": None}])
        query = select(things.c.id, things.c.seen, things.c.extra, things.c.delay).order_by(
            things.c.id
        )
        assert Prepared(query).rows(connection) == list(connection.execute(query))


def test_an_update_sets_the_columns_it_is_given_and_counts_rows(engine: Engine) -> None:
    change = Prepared(update(things).where(things.c.id == bindparam("key")))
    with engine.begin() as connection:
        Prepared(insert(things)).execute(connection, ROW)
        assert change.execute(connection, {"key": 1, "name": "pe1"}) == 1
        assert change.execute(connection, {"key": 1, "active": False, "seen": None}) == 1
        assert change.execute(connection, {"key": 99, "name": "nobody"}) == 0
        row = connection.execute(BY_ID, {"id": 1}).one()
    assert (row.name, row.active, row.seen, row.extra) == ("pe1", False, None, ROW["extra"])


def test_returning_and_literal_values(engine: Engine) -> None:
    settle = Prepared(
        update(things)
        .where(things.c.id == bindparam("key"), things.c.state == "new")
        .values(state="done", seen=bindparam("when", type_=UtcDateTime()))
        .returning(things.c.id, things.c.seen)
    )
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        Prepared(insert(things)).execute(connection, ROW)
        assert settle.rows(connection, {"key": 1, "when": later}) == [(1, later)]
        assert settle.first(connection, {"key": 1, "when": later}) is None  # no longer "new"


def test_many_and_one_of_two(engine: Engine) -> None:
    rows = [{**ROW, "id": i, "name": f"pe{i}"} for i in range(1, 5)]
    pair = Prepared(select(things.c.name).where(one_of_two(things.c.id, "id")).order_by("name"))
    count = Prepared(select(func.count()).select_from(things))
    with engine.begin() as connection:
        Prepared(insert(things)).execute_many(connection, rows)
        assert [r.name for r in pair.rows(connection, one_of_two_params("id", [2, 4]))] == [
            "pe2",
            "pe4",
        ]
        assert count.first(connection)[0] == 4
        forget = Prepared(delete(things).where(things.c.id == bindparam("id")))
        forget.execute_many(connection, [{"id": 1}, {"id": 3}])
        assert count.first(connection)[0] == 2


def test_it_runs_in_the_connections_transaction(engine: Engine) -> None:
    with engine.connect() as connection:
        with connection.begin() as transaction:
            Prepared(insert(things)).execute(connection, ROW)
            transaction.rollback()
        assert Prepared(BY_ID).first(connection, {"id": 1}) is None


def test_the_drivers_errors_are_raised_as_sqlalchemys(engine: Engine) -> None:
    """Callers catch IntegrityError (a request sent twice at once) as with Connection.execute."""
    add = Prepared(insert(things))
    with engine.connect() as connection:
        with connection.begin():
            add.execute(connection, ROW)
        with pytest.raises(IntegrityError) as raised, connection.begin():
            add.execute(connection, {**ROW, "name": "again"})
        assert raised.value.params == {**ROW, "name": "again"}
        with pytest.raises(IntegrityError), connection.begin():
            add.execute_many(connection, [{**ROW, "id": 2}, {**ROW, "id": 2}])
        # the rolled-back transactions left the connection usable, the first row alone
        assert [r.name for r in Prepared(select(things.c.name)).rows(connection)] == ["pe0"]


@pytest.mark.parametrize(
    ("statement", "params", "problem"),
    [
        (select(things).where(things.c.id.in_(bindparam("ids", expanding=True))), {}, "expanding"),
        (insert(things), {k: v for k, v in ROW.items() if k != "state"}, "Python-side default"),
        (BY_ID, {}, "no value"),
    ],
)
def test_what_it_cannot_run_it_refuses_when_first_used(
    engine: Engine, statement: object, params: dict[str, object], problem: str
) -> None:
    with engine.connect() as connection, pytest.raises(NotPreparable, match=problem):
        Prepared(statement).execute(connection, params)  # type: ignore[arg-type]
