"""SQLite files are put in WAL mode by the first connection that finds them in another mode.

A fresh database is migrated in SQLite's default journal mode and then opened by the service's
threads and processes at once; SQLite refuses the switch to WAL at once while another
connection is writing, instead of waiting as it does for other statements. A connection opened
then must wait for the writer like any other, not fail with "database is locked".
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from declaration_otp.database import make_engine


@pytest.fixture
def writer_on_a_fresh_file(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A file in the default journal mode, with another connection's write transaction open."""
    path = tmp_path / "fresh.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE notes (body TEXT)")
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO notes VALUES ('first')")
    try:
        yield path, writer
    finally:
        writer.close()


def test_a_connection_waits_for_the_writer_then_switches_the_file_to_wal(
    writer_on_a_fresh_file: tuple[Path, sqlite3.Connection],
) -> None:
    path, writer = writer_on_a_fresh_file
    threading.Timer(0.3, lambda: writer.execute("COMMIT")).start()
    with _engine(path, busy_timeout_ms=5000) as engine, engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("SELECT body FROM notes").scalars().all() == ["first"]


def test_a_writer_that_outlasts_the_busy_timeout_still_fails_as_locked(
    writer_on_a_fresh_file: tuple[Path, sqlite3.Connection],
) -> None:
    path, _writer = writer_on_a_fresh_file
    with _engine(path, busy_timeout_ms=200) as engine:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            engine.connect().close()
        assert time.monotonic() - started >= 0.2  # not at once, and not forever


@contextlib.contextmanager
def _engine(path: Path, *, busy_timeout_ms: int) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    try:
        yield engine
    finally:
        engine.dispose()
