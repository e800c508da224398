"""Statements of the hot paths, compiled once per database and run on the driver's cursor.

A SQLAlchemy Core statement executed through ``Connection.execute`` costs
45-70 µs of Python per call on this project's machines (cache lookups,
parameter processing, result set-up, events), where the sqlite3 driver itself
takes 4 µs.  The request paths of the agent, the outbox and the operations
engine run a few dozen such statements per request, so that overhead was a
fifth to a third of the event loop's time under load.

Prepared statements are built once at import and shared by every thread: a
form compiled twice at once by two threads is the same form, whichever is kept.

:class:`Prepared` keeps the statement a SQLAlchemy statement (built with the
tables, compiled by SQLAlchemy's compiler for the dialect in use, types
applied with the types' own bind and result processors) and only skips the
execution machinery:

- the SQL text and parameter order are compiled once per dialect and set of
  parameter names (an INSERT or UPDATE sets the columns it is given);
- parameters pass through their types' bind processors, rows through the
  result processors, so values look exactly as with ``Connection.execute``;
- the statement runs on the DBAPI cursor of the SQLAlchemy connection, in the
  transaction that connection has open.

What it does not do, it refuses when prepared: expanding ``IN`` parameters
(use :func:`gateway.db.one_of_two`, or one statement per value), and columns
whose value a Python-side default or ``onupdate`` would compute.  Those
statements stay on ``Connection.execute``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any]


class NotPreparable(ValueError):
    """The statement needs SQLAlchemy's execution path (see the module docstring)."""


@dataclass(slots=True)
class _Form:
    """The statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...]  # in the order the driver takes them (positional styles)
    positional: bool
    defaults: dict[str, Any]
    binds: tuple[tuple[str, Processor], ...]
    columns: tuple[Any, ...]  # the columns of the rows it returns
    dialect: Dialect
    row: Callable[..., Any] | None = None
    # (index, processor) of each column that has one: set from the first result,
    # whose cursor names the driver's type of each column (some processors need it).
    results: tuple[tuple[int, Processor], ...] | None = None

    def parameters(self, given: Mapping[str, Any]) -> Any:
        """The driver's parameters: a list (positional styles) or a dict (named)."""
        values = {**self.defaults, **given} if self.defaults else dict(given)
        for name, process in self.binds:
            values[name] = process(values[name])
        if self.positional:
            return [values[name] for name in self.names]
        return {name: values[name] for name in self.names}

    def rows(self, cursor: Any) -> list[Any]:
        if self.row is None or self.results is None:
            self._describe(cursor.description)
        make, results = self.row, self.results
        assert make is not None
        assert results is not None
        fetched = cursor.fetchall()
        if not results:
            return [make(*row) for row in fetched]
        out = []
        for row in fetched:
            values = list(row)
            for index, process in results:
                values[index] = process(values[index])
            out.append(make(*values))
        return out

    def _describe(self, description: Sequence[Sequence[Any]]) -> None:
        self.row = _row_type([column.key for column in self.columns])
        results = []
        for index, column in enumerate(self.columns):
            impl = column.type.dialect_impl(self.dialect)
            process = impl.result_processor(self.dialect, description[index][1])
            if process is not None:
                results.append((index, process))
        self.results = tuple(results)


class Prepared:
    """A Core statement run on the driver's cursor (see the module docstring)."""

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, frozenset[str]], _Form] = {}

    def _form(self, dialect: Dialect, names: Iterable[str]) -> _Form:
        key = (dialect.name, frozenset(names))
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _compile(self.statement, dialect, key[1])
        return form

    def _run(
        self, connection: Connection, sets: Sequence[Mapping[str, Any]], *, many: bool = False
    ) -> tuple[_Form, Any]:
        """The statement run on a new cursor (the caller closes it).

        The driver's errors are raised as SQLAlchemy's (IntegrityError,
        OperationalError ...), as ``Connection.execute`` raises them.
        """
        form = self._form(connection.dialect, sets[0])
        dbapi = connection.dialect.loaded_dbapi
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(form.sql, [form.parameters(p) for p in sets])
            else:
                cursor.execute(form.sql, form.parameters(sets[0]))
        except dbapi.Error as error:
            cursor.close()
            shown = None if connection.engine.hide_parameters else list(sets) if many else sets[0]
            raise _as_sqlalchemy(connection, form.sql, shown, error, many=many) from error
        except BaseException:
            cursor.close()
            raise
        return form, cursor

    def execute(self, connection: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        _, cursor = self._run(connection, [params or {}])
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement that returns no rows once for each set of parameters."""
        if params:
            _, cursor = self._run(connection, params, many=True)
            cursor.close()

    def rows(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of a SELECT (or of RETURNING), as named tuples."""
        form, cursor = self._run(connection, [params or {}])
        try:
            return form.rows(cursor)
        finally:
            cursor.close()

    def first(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row, or None."""
        found = self.rows(connection, params)
        return found[0] if found else None


def run_driver_sql(connection: Connection, sql: str) -> None:
    """A statement in the driver's own SQL (``BEGIN IMMEDIATE`` ...), run on the cursor.

    For statements SQLAlchemy's events issue on every transaction; errors are
    raised as SQLAlchemy's, as ``Connection.exec_driver_sql`` raises them.
    """
    dbapi = connection.dialect.loaded_dbapi
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    except dbapi.Error as error:
        raise _as_sqlalchemy(connection, sql, None, error) from error
    finally:
        cursor.close()


def _as_sqlalchemy(
    connection: Connection, sql: str, params: Any, error: Exception, *, many: bool = False
) -> StatementError:
    """The driver's ``error`` as SQLAlchemy raises it (IntegrityError, OperationalError ...)."""
    dbapi = connection.dialect.loaded_dbapi
    return DBAPIError.instance(
        sql, params, error, dbapi.Error, dialect=connection.dialect, ismulti=many
    )


def _compile(statement: Any, dialect: Dialect, names: frozenset[str]) -> _Form:
    compiled = statement.compile(dialect=dialect, column_keys=sorted(names))
    assert isinstance(compiled, SQLCompiler)
    if compiled.escaped_bind_names:
        raise NotPreparable(f"parameter names {sorted(compiled.escaped_bind_names)} need escaping")
    if compiled.insert_prefetch or compiled.update_prefetch:
        defaulted = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        raise NotPreparable(f"columns {defaulted} take a Python-side default: give their values")
    defaults: dict[str, Any] = {}
    binds: list[tuple[str, Processor]] = []
    for name, bind in compiled.binds.items():
        if bind.expanding:
            raise NotPreparable(f"parameter {name!r} is an expanding IN")
        if name not in names:
            if bind.required or bind.callable is not None:
                raise NotPreparable(f"parameter {name!r} has no value")
            defaults[name] = bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    positional = bool(compiled.positional)
    order = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    columns = tuple(statement.exported_columns)  # a SELECT's, or RETURNING's (else none)
    return _Form(
        sql=compiled.string,
        names=order,
        positional=positional,
        defaults=defaults,
        binds=tuple(binds),
        columns=columns,
        dialect=dialect,
    )


def _row_type(names: list[str]) -> Callable[..., Any]:
    """Rows with the columns' names as attributes, like SQLAlchemy's."""
    return namedtuple("Row", names, rename=True)
