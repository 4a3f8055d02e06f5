"""Engine and units of work.

Each request's database work is one synchronous unit of work run in a worker thread: one thread
hop per request instead of one per statement. On SQLite a single thread owns the connection, so
writers never contend inside a process, and write transactions start with BEGIN IMMEDIATE so
that other processes wait (busy timeout) instead of failing with "database is locked".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no writer queue, SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from declaration_otp.db_errors import DatabaseUnavailable, transient, unavailable
from declaration_otp.group_commit import GroupCommitter
from declaration_otp.kept_connections import KeptConnections, closed_by_server
from declaration_otp.prepared import UNIT_CONNECTION, as_sqlalchemy_error, run_on_driver
from declaration_otp.sqlite_checkpoint import FALLBACK_AUTOCHECKPOINT_PAGES, Checkpointer

__all__ = ["Database", "DatabaseUnavailable", "UnitOfWork", "make_engine"]

T = TypeVar("T")

UnitOfWork = Callable[[Session], T]


_OTHER_THREADS_CONNECTIONS = 2


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    busy_timeout_ms: int = 5000,
    connect_timeout_seconds: int = 3,
    statement_timeout_ms: int = 5000,
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            # The writer thread's connection and the reader thread's, each kept (group_commit),
            # and the checkpointer's; the overflow is for units run by `run_sync` meanwhile.
            pool_size=3,
            max_overflow=_OTHER_THREADS_CONNECTIONS,
            # Statement parameters hold phone numbers: never in a log line or an error text.
            hide_parameters=True,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    options = f"-c statement_timeout={int(statement_timeout_ms)}"
    engine = create_engine(
        url,
        # The database threads keep one each (kept_connections.py); the overflow is for units
        # run by `run_sync` in another thread meanwhile, which `serve` never does.
        pool_size=pool_size,
        max_overflow=_OTHER_THREADS_CONNECTIONS,
        pool_timeout=connect_timeout_seconds,
        connect_args={"connect_timeout": connect_timeout_seconds, "options": options},
        hide_parameters=True,
    )
    event.listen(engine, "checkout", _replace_if_closed_by_server)
    return engine


def _replace_if_closed_by_server(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any
) -> None:
    """A pooled connection the server has closed is replaced at checkout, without a round trip
    (`closed_by_server`, where `pool_pre_ping` would cost one on every checkout)."""
    if closed_by_server(dbapi_connection):
        # SQLAlchemy drops this connection and checks out a new one.
        raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # Once a file is in WAL mode (it stays so), a connection opened while another writes
        # must not ask again: switching needs a lock SQLite does not wait for.
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            _switch_to_wal(cursor, busy_timeout_ms)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints are the checkpointer thread's job (see sqlite_checkpoint); this is a bound.
        cursor.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # The journal of a savepoint or of one statement (the original of each page it changes)
        # goes to a temporary file once past 64 KiB, and a code issued changes about 28 pages:
        # kept in memory, no unit of work writes a file while it holds the write lock.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("write", False)
        # On the driver: SQLAlchemy's execution of a statement cost more than SQLite's BEGIN,
        # once per unit of work or group (docs/performance.md, ninth round).
        run_on_driver(connection, "BEGIN IMMEDIATE" if immediate else "BEGIN")


def _switch_to_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Put the database file in WAL mode.

    A file that is not in WAL mode yet (a fresh database, migrated and then opened by several
    threads or processes at once) may be written by another connection at that moment; SQLite
    then refuses the switch at once ("database is locked") instead of waiting as it does for
    other statements. Try again until the busy timeout has passed, unless meanwhile another
    connection has made the switch."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(0.005)
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            return


class Database:
    """Runs units of work off the event loop, each in its own transaction."""

    def __init__(self, engine: Engine, *, threads: int) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # Decided once: `write(pipelined=True)` is on the resend's path.
        self._pipelines = _pipelines_supported(engine)
        self._writers = _WriterQueue.for_sqlite(engine) if self.is_sqlite else None
        # SQLite: a writer thread commits queued units together (one writer per file), a reader
        # thread reads beside it (see group_commit). Others: one thread per pooled connection,
        # a transaction per unit (the server runs them concurrently).
        self._writes: GroupCommitter | None = None
        self._reads: GroupCommitter | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._kept: KeptConnections | None = None
        self._checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            self._writes = GroupCommitter(engine, write=True, writer_queue=self._writer_queue)
            self._reads = GroupCommitter(engine, write=False)
            self._checkpointer = Checkpointer(engine)
        else:
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
            self._kept = KeptConnections(engine)

    def _writer_queue(self) -> contextlib.AbstractContextManager[None]:
        return self._writers if self._writers is not None else contextlib.nullcontext()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 8,
        busy_timeout_ms: int = 5000,
        connect_timeout_seconds: int = 3,
        statement_timeout_ms: int = 5000,
    ) -> Database:
        engine = make_engine(
            url,
            pool_size=pool_size,
            busy_timeout_ms=busy_timeout_ms,
            connect_timeout_seconds=connect_timeout_seconds,
            statement_timeout_ms=statement_timeout_ms,
        )
        return cls(engine, threads=pool_size)

    def run_sync(
        self,
        work: UnitOfWork[T],
        *,
        write: bool,
        pipelined: bool = False,
        one_statement: bool = False,
    ) -> T:
        """Run `work` in one transaction in the calling thread, on a connection checked out for
        it: commit on return.

        `pipelined`: see `write`; `one_statement`: see `read`."""
        queue = self._writer_queue() if write else contextlib.nullcontext()
        pipeline = pipelined and self._pipelines
        with _unavailable_if_transient(), queue, self.engine.connect() as connection:
            if pipeline or (one_statement and not self.is_sqlite):
                # No transaction of the driver's own: see `read`, and `_pipelined_unit`.
                connection.execution_options(isolation_level="AUTOCOMMIT", write=write)
            else:
                connection.execution_options(write=write)
            return _run_unit(connection, work, pipeline=pipeline)

    def _run_on_kept_connection(
        self, work: UnitOfWork[T], *, pipelined: bool, one_statement: bool
    ) -> T:
        """`run_sync` for a database thread (not SQLite's): on the connection it keeps."""
        assert self._kept is not None
        pipeline = pipelined and self._pipelines
        with _unavailable_if_transient():
            # Autocommit as `run_sync` sets it: see `read`, and `_pipelined_unit`.
            connection = self._kept.connection(autocommit=pipeline or one_statement)
            return _run_unit(connection, work, pipeline=pipeline)

    async def read(self, work: UnitOfWork[T], *, one_statement: bool = False) -> T:
        """Run `work`, which only reads, in one transaction.

        `one_statement` (PostgreSQL): `work` runs a single statement, atomic by itself, so it
        runs without BEGIN and COMMIT, two round trips fewer (the token lookup on every request).
        On SQLite reads are grouped on the reader thread (see group_commit) either way."""
        return await self._submit(work, write=False, one_statement=one_statement)

    async def write(self, work: UnitOfWork[T], *, pipelined: bool = False) -> T:
        """Run `work` in a write transaction.

        `pipelined` (PostgreSQL): the driver sends statements whose results are not read (the
        prepared statements' `run`) without waiting for each answer, together with the next one
        that is read or the COMMIT, and the BEGIN with the first (see `_pipelined_unit`): the
        unit waits for the server once per statement whose rows it reads, and once more to
        commit (a resend's unit: four times). Only for units made of `Prepared` statements
        alone: SQLAlchemy's own execution reads each statement's result description at once,
        which a pipeline does not have yet. An error in a statement sent ahead surfaces at the
        next statement read or at the COMMIT and rolls the whole unit back, as any error does.
        Ignored on SQLite (group commit: see group_commit)."""
        return await self._submit(work, write=True, pipelined=pipelined)

    async def _submit(
        self,
        work: UnitOfWork[T],
        *,
        write: bool,
        pipelined: bool = False,
        one_statement: bool = False,
    ) -> T:
        committer = self._writes if write else self._reads
        if committer is not None:
            result: T = await committer.submit(work)
            return result
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        # The caller's context goes along, so log lines of the unit of work carry its request id.
        context = contextvars.copy_context()
        call = functools.partial(
            context.run,
            self._run_on_kept_connection,
            work,
            pipelined=pipelined,
            one_statement=one_statement,
        )
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        for committer in (self._writes, self._reads):
            if committer is not None:
                committer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._kept is not None:
            self._kept.close()
        self.engine.dispose()
        if self._writers is not None:
            self._writers.close()


@contextlib.contextmanager
def _unavailable_if_transient() -> Iterator[None]:
    """A lost server, a full pool or the like reads as the database being unavailable (a 503 the
    client may retry); any other database error stays what it is."""
    try:
        yield
    except (DBAPIError, PoolTimeoutError) as error:
        if transient(error):
            raise unavailable(error) from error
        raise


def _run_unit(connection: Connection, work: UnitOfWork[T], *, pipeline: bool) -> T:
    """`work` in one transaction on `connection`, committed on return, rolled back if it raises."""
    with connection.begin() as transaction, Session(bind=connection) as session:
        session.info[UNIT_CONNECTION] = connection
        if pipeline:
            with _pipelined_unit(connection):
                result = work(session)
                session.flush()
        else:
            result = work(session)
            session.flush()
        # Pipelined, the transaction has ended already: the driver has nothing to do.
        transaction.commit()
        return result


def _pipelines_supported(engine: Engine) -> bool:
    """psycopg with a libpq that has pipeline mode (PostgreSQL 14's client library or newer)."""
    if engine.dialect.driver != "psycopg":
        return False
    import psycopg  # only with psycopg's engines: SQLite deployments need not install it

    return bool(psycopg.Pipeline.is_supported())


# Spelled as the driver spells the transactions it begins itself on this engine.
_PIPELINED_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"


@contextlib.contextmanager
def _pipelined_unit(connection: Connection) -> Iterator[None]:
    """One transaction in psycopg's pipeline mode on the unit's connection (see `Database.write`),
    its BEGIN and COMMIT queued with its statements.

    Left to begin and commit itself, the driver waits for the server after its BEGIN and again
    after its COMMIT, and leaving the pipeline waits once more: three of a resend's six round
    trips. The connection is in the driver's autocommit mode instead, and the unit's own BEGIN
    goes out with its first statement, its COMMIT with the last ones; leaving the pipeline sends
    them and waits once. An error in any of them (a constraint, the COMMIT itself) comes back
    then, and the unit fails whole: the server skips everything after the error, COMMIT
    included, until the transaction is rolled back here."""
    driver: Any = connection.connection.driver_connection
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            run_on_driver(connection, _PIPELINED_BEGIN)
            yield
            run_on_driver(connection, "COMMIT")
    except BaseException as error:
        # The pipeline has been left (synchronised): an aborted transaction, or one the unit
        # left by raising, is rolled back, or the connection dropped, so that the next unit
        # never starts inside it.
        try:
            driver.rollback()
        except driver_error:
            connection.invalidate()
        if isinstance(error, driver_error):
            # Raised as the pipeline synchronised on leaving, outside SQLAlchemy's execution: a
            # statement sent with the COMMIT failed, or the server went away (a restart) after
            # the unit's last answer. Given the form any statement's error has, so that a lost
            # server reads as the database being unavailable (a 503 the client may retry).
            raise as_sqlalchemy_error(connection, error, statement=None) from error
        raise


class _WriterQueue:
    """SQLite writers of all processes queue here, in the kernel, before BEGIN IMMEDIATE.

    With `serve --workers N` on SQLite, a writer that finds another process's transaction open
    would otherwise wait in SQLite's busy handler, which sleeps in steps of up to 100 ms: the
    lock is free long before the waiter looks again, and throughput collapses while the CPU idles.
    An exclusive `flock` on `<database>-lock` wakes the next writer as soon as the holder
    commits. It only orders writers: SQLite's own locking still guarantees correctness, and
    processes that do not take it (the CLI, an external tool) still meet the busy timeout.
    The lock is held for one transaction at a time, so a wait is bounded by the queue ahead.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def for_sqlite(cls, engine: Engine) -> _WriterQueue | None:
        database = engine.url.database or ""
        if fcntl is None or not database or database == ":memory:" or "mode=memory" in database:
            return None
        if database.startswith("file:"):
            return None  # URI filenames: left to SQLite alone
        try:
            return cls(f"{database}-lock")
        except OSError:
            return None  # e.g. a read-only directory: SQLite's busy handler alone

    def __enter__(self) -> None:
        assert fcntl is not None
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        assert fcntl is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
