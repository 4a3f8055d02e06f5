"""PostgreSQL: a database thread keeps its connection from one unit of work to the next
(kept_connections.py), and still starts every unit on a live connection outside any transaction:
one the server closed is replaced without an error, one a failed unit left is rolled back, and
the driver's autocommit is on exactly for the units that run without its transaction."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from declaration_otp.database import Database, DatabaseUnavailable
from declaration_otp.prepared import UNIT_CONNECTION
from tests.conftest import _postgres_database, terminate_backends


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    # One database thread: every unit through `read`/`write` runs on the same thread.
    for url in _postgres_database():
        database = Database.from_url(url, pool_size=1)
        database.run_sync(lambda s: s.execute(text("CREATE TABLE kept (n int)")), write=True)
        try:
            yield database
        finally:
            database.close()


@pytest.fixture(autouse=True)
def empty(database: Database) -> None:
    database.run_sync(lambda s: s.execute(text("DELETE FROM kept")), write=True)


def _pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _read_pid(database: Database, *, one_statement: bool = False) -> int:
    return asyncio.run(database.read(_pid, one_statement=one_statement))


def _driver_state(session: Session) -> tuple[str, bool]:
    """The transaction status after one statement, and whether the driver was in autocommit."""
    session.execute(text("SELECT 1"))
    driver: Any = session.info[UNIT_CONNECTION].connection.driver_connection
    return str(driver.info.transaction_status.name), bool(driver.autocommit)


def _count(database: Database) -> int:
    return int(
        database.run_sync(
            lambda s: s.execute(text("SELECT count(*) FROM kept")).scalar_one(), write=False
        )
    )


def test_the_database_thread_keeps_its_connection_across_units(database: Database) -> None:
    first = _read_pid(database)
    assert _read_pid(database, one_statement=True) == first
    asyncio.run(database.write(lambda s: s.execute(text("INSERT INTO kept VALUES (1)"))))
    assert _read_pid(database) == first
    # Work run in another thread gets a connection of its own meanwhile, without waiting for
    # the kept one (the pool's one connection is the database thread's).
    started = time.monotonic()
    assert database.run_sync(_pid, write=False) != first
    assert time.monotonic() - started < 2
    assert _read_pid(database) == first


def test_a_kept_connection_the_server_closed_is_replaced_before_the_next_unit(
    database: Database,
) -> None:
    before = _read_pid(database)
    terminate_backends(before)
    after = _read_pid(database)  # no error: a new connection, not the closed one
    assert after != before
    assert _read_pid(database) == after


def test_a_server_gone_during_a_unit_is_unavailable_and_the_next_unit_reconnects(
    database: Database,
) -> None:
    def ended_by_the_server(session: Session) -> None:
        terminate_backends(_pid(session))
        session.execute(text("INSERT INTO kept VALUES (2)"))

    with pytest.raises(DatabaseUnavailable):
        asyncio.run(database.write(ended_by_the_server))
    asyncio.run(database.write(lambda s: s.execute(text("INSERT INTO kept VALUES (3)"))))
    assert _count(database) == 1


def test_a_failed_unit_leaves_nothing_behind_on_the_kept_connection(database: Database) -> None:
    def insert_then_fail(session: Session) -> None:
        session.execute(text("INSERT INTO kept VALUES (1)"))
        raise RuntimeError("the unit fails after its insert")

    for pipelined in (False, True):
        with pytest.raises(RuntimeError):
            asyncio.run(database.write(insert_then_fail, pipelined=pipelined))
        assert asyncio.run(database.read(_driver_state, one_statement=True)) == ("IDLE", True)
    assert _count(database) == 0


def test_autocommit_is_on_only_for_units_without_the_drivers_transaction(
    database: Database,
) -> None:
    for _ in range(2):  # switched both ways on the same connection
        assert asyncio.run(database.read(_driver_state, one_statement=True)) == ("IDLE", True)
        assert asyncio.run(database.read(_driver_state)) == ("INTRANS", False)
    asyncio.run(database.write(lambda s: s.execute(text("INSERT INTO kept VALUES (4)"))))
    assert _count(database) == 1


def _two_units_at_once(database: Database) -> list[int]:
    barrier = threading.Barrier(2)

    def hold(session: Session) -> int:
        barrier.wait(10)  # both database threads at once: each keeps a connection
        return _pid(session)

    async def both() -> list[int]:
        return list(await asyncio.gather(database.read(hold), database.read(hold)))

    return asyncio.run(both())


def test_closing_the_database_gives_the_kept_connections_back() -> None:
    for url in _postgres_database():
        database = Database.from_url(url, pool_size=2)
        assert len(set(_two_units_at_once(database))) == 2
        assert database.engine.pool.checkedout() == 2  # type: ignore[attr-defined]
        database.close()
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
