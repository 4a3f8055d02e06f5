"""PostgreSQL pooled connections (database.py): those the server closed (restart, terminate, idle
timeout) are replaced when checked out, without a ping per checkout; a one-statement read runs
without a transaction block and leaves none of that behind for the next unit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from declaration_otp.database import Database
from tests.conftest import _postgres_database, terminate_backends


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    for url in _postgres_database():
        database = Database.from_url(url, pool_size=2)
        try:
            yield database
        finally:
            database.close()


def _pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _backend_pid(database: Database) -> int:
    return database.run_sync(_pid, write=False)


def test_a_connection_the_server_closed_is_replaced_at_checkout(database: Database) -> None:
    before = _backend_pid(database)
    assert _backend_pid(database) == before  # the pool hands the same connection back
    terminate_backends(before)
    after = _backend_pid(database)  # no error: a new connection, not the closed one
    assert after != before
    assert _backend_pid(database) == after


def test_every_closed_connection_is_replaced_after_a_mass_termination(database: Database) -> None:
    # Two units at once check out both pooled connections; then the server drops both.
    pids: set[int] = set()
    barrier = threading.Barrier(2)

    def hold(session: Session) -> None:
        barrier.wait(10)
        pids.add(_pid(session))

    threads = [
        threading.Thread(target=database.run_sync, args=(hold,), kwargs={"write": True})
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(pids) == 2
    terminate_backends(*pids)
    for _ in range(4):
        assert _backend_pid(database) not in pids
    # Writes work as well, and nothing was lost on the way.
    assert database.run_sync(lambda s: s.execute(text("SELECT 1")).scalar(), write=True) == 1


def _driver_state_after_a_select(session: Session) -> str:
    session.execute(text("SELECT 1"))
    driver = session.connection().connection.driver_connection
    return str(driver.info.transaction_status.name)


def test_a_one_statement_read_sends_no_begin_and_leaves_no_autocommit_behind(
    database: Database,
) -> None:
    one = asyncio.run(database.read(_driver_state_after_a_select, one_statement=True))
    assert one == "IDLE"  # no transaction block was open around the statement
    assert asyncio.run(database.read(_driver_state_after_a_select)) == "INTRANS"
    # Writes on the same pooled connections are still all or nothing.
    database.run_sync(
        lambda s: s.execute(text("CREATE TABLE IF NOT EXISTS probe (n int)")), write=True
    )

    def insert_then_fail(session: Session) -> None:
        session.execute(text("INSERT INTO probe VALUES (1)"))
        raise RuntimeError("the unit fails after its insert")

    for _ in range(3):  # whichever pooled connection the read used
        asyncio.run(database.read(_driver_state_after_a_select, one_statement=True))
        with pytest.raises(RuntimeError):
            database.run_sync(insert_then_fail, write=True)
    count = database.run_sync(
        lambda s: s.execute(text("SELECT count(*) FROM probe")).scalar_one(), write=False
    )
    assert count == 0
