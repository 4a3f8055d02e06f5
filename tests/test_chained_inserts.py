"""`ChainedInserts` on PostgreSQL: one row into each of several tables as one statement, linked by
foreign keys, with column names the tables share; all or nothing like any statement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import ForeignKey, Table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from declaration_otp.chained_inserts import ChainedInserts
from declaration_otp.database import Database
from tests.conftest import postgres_with_tables, statements_sent


class _TestTables(DeclarativeBase):
    """A metadata of its own: these tables are not the product's (see test_migrations)."""


class Code(_TestTables):
    __tablename__ = "chained_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str]


class Message(_TestTables):
    __tablename__ = "chained_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("chained_codes.id"))
    note: Mapped[str]


class Trail(_TestTables):
    __tablename__ = "chained_trail"
    id: Mapped[int] = mapped_column(primary_key=True)  # the database's, as an event's
    message_id: Mapped[int] = mapped_column(ForeignKey("chained_messages.id"))
    note: Mapped[str | None]


def _table(model: type[_TestTables]) -> Table:
    table: Table = model.__table__  # type: ignore[assignment]
    return table


CHAIN = ChainedInserts(_table(Code), _table(Message), _table(Trail))


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    yield from postgres_with_tables(_TestTables.metadata)


@pytest.fixture(autouse=True)
def empty(database: Database) -> None:
    database.run_sync(
        lambda s: s.execute(text("TRUNCATE chained_trail, chained_messages, chained_codes")),
        write=True,
    )


def rows_of(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    def read(session: Session) -> dict[str, list[tuple[Any, ...]]]:
        return {
            table: [
                tuple(row)
                for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()  # noqa: S608
            ]
            for table in ("chained_codes", "chained_messages", "chained_trail")
        }

    return database.run_sync(read, write=False)


def chain(code_id: int, message_id: int, note: str | None = "sent") -> list[dict[str, Any]]:
    return [
        {"id": code_id, "note": f"code {code_id}"},
        {"id": message_id, "code_id": code_id, "note": f"message {message_id}"},
        {"message_id": message_id, "note": note},
    ]


def write(database: Database, rows: list[dict[str, Any]], *, pipelined: bool = False) -> None:
    asyncio.run(database.write(lambda session: CHAIN.run(session, rows), pipelined=pipelined))


@pytest.mark.parametrize("pipelined", [False, True], ids=["unit", "pipelined unit"])
def test_every_row_is_written_by_one_statement(database: Database, pipelined: bool) -> None:
    with statements_sent(database.engine) as statements:
        write(database, chain(1, 10), pipelined=pipelined)
    assert len(statements) == 1
    assert statements[0].startswith("WITH ")
    found = rows_of(database)
    # Each table got its own row's values, though the tables share `id` and `note`.
    assert found["chained_codes"] == [(1, "code 1")]
    assert found["chained_messages"] == [(10, 1, "message 10")]
    assert [row[1:] for row in found["chained_trail"]] == [(10, "sent")]


def test_a_failing_row_writes_none_of_the_others(database: Database) -> None:
    write(database, chain(1, 10))
    # The message's id is taken: the code and the trail's row before and after it are not kept.
    with pytest.raises(IntegrityError):
        write(database, chain(2, 10))
    assert rows_of(database)["chained_codes"] == [(1, "code 1")]
    assert len(rows_of(database)["chained_trail"]) == 1
    # A row pointing at a code that is not there fails the statement too.
    broken = chain(3, 30)
    broken[1]["code_id"] = 99
    with pytest.raises(IntegrityError):
        write(database, broken)
    assert [row[0] for row in rows_of(database)["chained_codes"]] == [1]
    # The connection serves the next unit.
    write(database, chain(4, 40))
    assert [row[0] for row in rows_of(database)["chained_codes"]] == [1, 4]


def test_rows_with_other_columns_get_a_statement_of_their_own(database: Database) -> None:
    write(database, chain(1, 10))
    rows = chain(2, 20)
    del rows[2]["note"]  # nullable: left to the database
    write(database, rows)
    assert [row[1:] for row in rows_of(database)["chained_trail"]] == [(10, "sent"), (20, None)]


def test_one_row_per_table_is_required() -> None:
    with pytest.raises(ValueError, match="3 rows expected, got 2"):
        CHAIN.run(None, chain(1, 10)[:2])  # type: ignore[arg-type]
