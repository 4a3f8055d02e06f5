"""Hot-path statements: SQLAlchemy Core compiled once per dialect, run on the driver's cursor.

Executing a Core statement through a `Connection` costs about 80 µs of Python per statement
(execution context, events, result objects), several times what SQLite spends on an indexed
lookup, and on SQLite it is spent while holding the database's one write lock. A `Prepared`
statement is still written with Core against the tables (the SQL, its quoting and its type
conversions are SQLAlchemy's, per dialect); only the per-call machinery is skipped:

* compiled once per (dialect, parameter names): SQL text, the order of positional parameters,
  and the bind and result processors of the column types (UUID as 32 hex digits on SQLite,
  aware datetimes as UTC, booleans);
* run with the cursor of the connection the unit of work's transaction holds, so the
  statement is part of the unit of work (and of its SAVEPOINT) like any other;
* driver errors become SQLAlchemy's (`DBAPIError.instance`), parameters hidden; a lost
  PostgreSQL connection is invalidated as SQLAlchemy would, so the unit of work ends in
  `DatabaseUnavailable` and the pool replaces the connection;
* `before_cursor_execute` listeners still see each statement (tests and the benchmark read
  the product's statements that way), and SQL logging (`sqlalchemy.engine` at INFO) shows it,
  parameters hidden, as SQLAlchemy would.

Statements that need Python-side column defaults are refused at compile time: every value is
passed explicitly.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

Processor = Callable[[Any], Any]

# `session.info` key: the connection of the unit of work's transaction, put there by whoever
# opened it (see database.py, group_commit.py) so that each statement need not go through the
# session's transaction machinery to find it.
UNIT_CONNECTION: Final = "unit_connection"
# SQLAlchemy's statement log (what `echo` turns on).
_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # values fixed in the statement itself (`.values(status=...)`)
    binds: dict[str, Processor]
    # qmark/format drivers: each parameter's name and processor in order, so that the arguments
    # are built in one pass (on SQLite, under the write lock); None for named parameters.
    positional: tuple[tuple[str, Processor | None], ...] | None
    results: tuple[Processor | None, ...]
    row: Any  # a namedtuple of the returned columns: `row.status`, as with SQLAlchemy's rows


class Prepared:
    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        """Execute with `params`; the rows it returns (SELECT, RETURNING), values converted."""
        # PostgreSQL's inserts may carry an implicit RETURNING of the key: not asked for here.
        compiled, raw = self._execute(session, params, fetch=True)
        make, processors = compiled.row._make, compiled.results
        return [
            make(
                value if processor is None or value is None else processor(value)
                for processor, value in zip(processors, row, strict=True)
            )
            for row in raw
        ]

    def first(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        found = self.rows(session, params)
        return found[0] if found else None

    def run(self, session: Session, params: Mapping[str, Any]) -> None:
        self.rows(session, params)

    def _execute(
        self, session: Session, params: Mapping[str, Any], *, fetch: bool
    ) -> tuple[_Compiled, Any]:
        connection = session.info.get(UNIT_CONNECTION) or session.connection()
        compiled = self._compile(connection.dialect, params)
        if fetch and not compiled.results:
            fetch = False
        return compiled, _execute(
            connection, compiled.sql, _arguments(compiled, params), fetch=fetch
        )

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, dialect, list(params))
        return found


def dialect_name(session: Session) -> str:
    """The database the unit of work runs on ("sqlite", "postgresql")."""
    connection = session.info.get(UNIT_CONNECTION) or session.connection()
    name: str = connection.dialect.name
    return name


def _compile(statement: Executable, dialect: Dialect, keys: list[str]) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        raise ValueError(f"{statement!r} needs Python-side defaults: pass every value")
    # `bind_names`: each bind parameter and the name it has in the SQL (anonymous ones resolved).
    names: dict[Any, str] = compiled.bind_names
    binds: dict[str, Processor] = {}
    for bind, name in names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    columns = _returned_columns(statement)
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    row = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
    defaults = {
        name: bind.effective_value
        for bind, name in names.items()
        if name not in keys and not bind.required
    }
    positional = (
        tuple((name, binds.get(name)) for name in compiled.positiontup)
        if compiled.positiontup is not None
        else None
    )
    return _Compiled(str(compiled), defaults, binds, positional, results, row)


def _returned_columns(statement: Any) -> Sequence[Any]:
    if getattr(statement, "is_select", False):
        return list(statement.selected_columns)
    returning = getattr(statement, "_returning", ())
    return list(returning)


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    if compiled.defaults:
        params = {**compiled.defaults, **params}
    if compiled.positional is not None:
        arguments = []
        for name, processor in compiled.positional:
            value = params[name]
            arguments.append(value if processor is None or value is None else processor(value))
        return tuple(arguments)
    values = dict(params)
    for name, processor in compiled.binds.items():
        value = values.get(name)
        if value is not None:
            values[name] = processor(value)
    return values


def run_on_driver(connection: Connection, sql: str) -> None:
    """A statement without parameters or rows (a BEGIN) run as `Prepared` runs its own: on the
    driver's cursor, seen by `before_cursor_execute` listeners, errors in SQLAlchemy's form."""
    _execute(connection, sql, (), fetch=False)


def _execute(connection: Connection, sql: str, arguments: Any, *, fetch: bool) -> Any:
    """The rows (`fetch`: the statement returns columns) or none. In psycopg's pipeline mode
    (see Database.write) a statement whose rows are not fetched is only queued; a row count
    would not be known yet, so a caller that needs one asks for rows (`RETURNING`)."""
    fairy = connection.connection
    dispatch = connection.dispatch.before_cursor_execute
    cursor = fairy.cursor()
    try:
        if dispatch:
            dispatch(connection, cursor, sql, arguments, None, False)
        if _SQL_LOG.isEnabledFor(logging.INFO):
            _SQL_LOG.info("%s\n[prepared statement; SQL parameters hidden]", sql)
        cursor.execute(sql, arguments)
        return list(cursor.fetchall()) if fetch else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise as_sqlalchemy_error(connection, error, statement=sql, cursor=cursor) from error
    finally:
        cursor.close()


def as_sqlalchemy_error(
    connection: Connection, error: Any, *, statement: str | None, cursor: Any = None
) -> StatementError:
    """A driver error (`error`: the loaded driver's `Error`, a class known only at run time)
    raised outside SQLAlchemy's execution, given the form SQLAlchemy gives its own (parameters
    hidden): a lost connection is invalidated, so that the unit of work ends in
    `DatabaseUnavailable` and the pool replaces the connection."""
    lost = connection.invalidated or connection.dialect.is_disconnect(
        error, connection.connection, cursor
    )
    if lost and not connection.invalidated:
        connection.invalidate(error)
    wrapped: StatementError = DBAPIError.instance(
        statement,
        None,
        error,
        connection.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=connection.dialect,
    )
    return wrapped
