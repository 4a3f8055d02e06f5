"""PostgreSQL pipelined units (`Database.write(pipelined=True)`): statements whose results are not
read are queued and sent with the next one that is, or with the COMMIT. The unit must still be
all or nothing: an error in a queued statement fails the unit and writes nothing, and the
connection serves the next unit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from declaration_otp.database import Database, DatabaseUnavailable
from declaration_otp.prepared import UNIT_CONNECTION, Prepared
from tests.conftest import postgres_with_tables, statements_sent
from tests.wire_proxy import RoundTripCounter, counting_round_trips


class _TestTables(DeclarativeBase):
    """A metadata of its own: these tables are not the product's (see test_migrations)."""


class Entry(_TestTables):
    __tablename__ = "pipelined_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(unique=True)


_INSERT = Prepared(sa_insert(Entry))
_BODIES = Prepared(sa_select(Entry.body).order_by(Entry.id))


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    yield from postgres_with_tables(_TestTables.metadata)


@pytest.fixture(autouse=True)
def empty(database: Database) -> None:
    database.run_sync(lambda s: s.execute(text("DELETE FROM pipelined_entries")), write=True)


def bodies(database: Database) -> list[str]:
    return [row.body for row in database.run_sync(lambda s: _BODIES.rows(s, {}), write=False)]


def inserts(*rows: tuple[int, str]) -> Callable[[Session], None]:
    def work(session: Session) -> None:
        for entry_id, body in rows:
            _INSERT.run(session, {"id": entry_id, "body": body})

    return work


def test_a_pipelined_unit_commits_every_queued_statement(database: Database) -> None:
    asyncio.run(database.write(inserts((1, "a"), (2, "b"), (3, "c")), pipelined=True))
    assert bodies(database) == ["a", "b", "c"]


def test_reads_inside_a_pipelined_unit_see_the_statements_queued_before_them(
    database: Database,
) -> None:
    def work(session: Session) -> list[str]:
        inserts((1, "a"), (2, "b"))(session)
        return [row.body for row in _BODIES.rows(session, {})]

    assert asyncio.run(database.write(work, pipelined=True)) == ["a", "b"]


@pytest.mark.parametrize(
    "rows",
    [
        # The error comes back while a later statement is sent, or only with the COMMIT.
        [(2, "fresh"), (3, "taken"), (4, "later")],
        [(2, "fresh"), (3, "taken")],
    ],
    ids=["mid-unit", "last"],
)
def test_an_error_in_a_queued_statement_fails_the_whole_unit_and_writes_nothing(
    database: Database, rows: list[tuple[int, str]]
) -> None:
    asyncio.run(database.write(inserts((1, "taken")), pipelined=True))
    with statements_sent(database.engine) as sent, pytest.raises(IntegrityError):
        asyncio.run(database.write(inserts(*rows), pipelined=True))
    # Pipelined, the statements after the collision were sent before its error came back (one
    # at a time, the unit would have stopped at the collision).
    assert len(sent) == len(rows)
    assert bodies(database) == ["taken"]
    # The same (only) connection serves the next unit, pipelined or not.
    asyncio.run(database.write(inserts((5, "next")), pipelined=True))
    asyncio.run(database.write(inserts((6, "plain"))))
    assert bodies(database) == ["taken", "next", "plain"]


def test_an_exception_raised_by_the_unit_rolls_back_what_was_queued(database: Database) -> None:
    def work(session: Session) -> None:
        inserts((1, "queued"))(session)
        raise LookupError("refused after queuing")

    with pytest.raises(LookupError):
        asyncio.run(database.write(work, pipelined=True))
    assert bodies(database) == []


def test_a_server_gone_when_the_pipeline_is_left_is_unavailable_not_a_crash(
    database: Database,
) -> None:
    """A restart can close the connection after a unit's last answer: the pipeline's own
    synchronisation on leaving then fails, outside SQLAlchemy's execution. The caller hears
    "unavailable" (a 503), and the pool replaces the connection for the next unit."""

    def ended_by_the_server(session: Session) -> None:
        driver: Any = session.info[UNIT_CONNECTION].connection.driver_connection
        pid = driver.info.backend_pid
        with psycopg.connect(_admin_dsn(database), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 10
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.01)

    with pytest.raises(DatabaseUnavailable):
        database.run_sync(ended_by_the_server, write=True, pipelined=True)
    asyncio.run(database.write(inserts((1, "after")), pipelined=True))
    assert bodies(database) == ["after"]


@pytest.fixture(scope="module")
def proxied(database: Database) -> Iterator[tuple[Database, RoundTripCounter]]:
    """The same database through a relay that counts round trips, on one connection."""
    url = database.engine.url
    with counting_round_trips(url.host or "127.0.0.1", url.port or 5432) as counter:
        through = url.set(
            host="127.0.0.1",
            port=counter.port,
            query={**url.query, "sslmode": "disable", "gssencmode": "disable"},
        )
        proxied = Database.from_url(through.render_as_string(hide_password=False), pool_size=1)
        try:
            yield proxied, counter
        finally:
            proxied.close()


def round_trips_of(
    proxied: tuple[Database, RoundTripCounter], work: Callable[[Session], Any]
) -> int:
    database, counter = proxied
    asyncio.run(database.write(inserts((100, "warm-up")), pipelined=True))  # connected already
    database.run_sync(lambda s: s.execute(text("DELETE FROM pipelined_entries")), write=True)
    before = counter.round_trips
    asyncio.run(database.write(work, pipelined=True))
    return counter.round_trips - before


def test_a_pipelined_unit_of_writes_waits_for_the_server_once(
    proxied: tuple[Database, RoundTripCounter],
) -> None:
    """Its BEGIN goes out with its first statement, its COMMIT with the last: one wait, when the
    pipeline is left (with the driver's own BEGIN and COMMIT, three)."""
    assert round_trips_of(proxied, inserts((1, "a"), (2, "b"), (3, "c"))) == 1
    assert bodies(proxied[0]) == ["a", "b", "c"]


def test_a_pipelined_unit_waits_once_more_per_read(
    proxied: tuple[Database, RoundTripCounter],
) -> None:
    def work(session: Session) -> list[str]:
        inserts((1, "a"))(session)
        read = [row.body for row in _BODIES.rows(session, {})]
        inserts((2, "b"))(session)
        return read

    assert round_trips_of(proxied, work) == 2
    assert bodies(proxied[0]) == ["a", "b"]


def _admin_dsn(database: Database) -> str:
    url = database.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
