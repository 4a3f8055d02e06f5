"""SQLite group commit: a thread owns a connection and commits queued units of work together.

SQLite has one write lock per database file, shared by every worker process. Taken once per
unit of work, it is held for the unit's statements plus the commit plus every wait for the GIL
in between (the event loop thread runs while SQLite works), and the other processes queue behind
it. Under load, units arrive faster than they can be committed one by one; the writer thread
takes every unit queued while the previous group ran and commits them as one transaction, under
the cross-process writer queue and `BEGIN IMMEDIATE`, each unit in a SAVEPOINT: a unit that
raises (a 404, a 429, a constraint) rolls back only its own statements and hands its exception
to its caller; the others commit.

No caller hears "done" before its unit's COMMIT returned. If the COMMIT (or the connection)
fails, every unit of the group fails with `DatabaseUnavailable` and nothing of it is written:
exactly what each caller would have seen alone. Under light load a group is one unit, so latency
is that of a plain transaction.

Reads have a thread and a connection of their own (WAL: readers never wait for the writer), and
are grouped the same way into one read transaction, without savepoints. A read submitted after
a write completed starts after that COMMIT, so it sees it.

Each thread keeps its connection from group to group, and a unit's `Session` for the next unit
while no unit has used it (the hot path's prepared statements run on the connection, not through
the session): a pool checkout and return, with its reset, and a `Session` made and closed were
Python run under the write lock for every group and every unit (docs/performance.md, twenty-third
round). A group that fails gives its connection back to the pool, which discards a broken one;
the next group takes a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from declaration_otp.db_errors import transient, unavailable
from declaration_otp.prepared import UNIT_CONNECTION

logger = logging.getLogger(__name__)

# Bounds how long one group holds SQLite's write lock (and so what the other processes wait).
MAX_GROUP = 64


@dataclass(slots=True)
class Job:
    work: Callable[[Session], Any]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] | None = field(default=None)  # (succeeded, result or exception)

    def settle(self) -> None:
        if self.outcome is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future, self.outcome)


def _resolve(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():  # the caller was cancelled: the unit ran all the same
        return
    succeeded, value = outcome
    if succeeded:
        future.set_result(value)
    else:
        future.set_exception(value)


class GroupCommitter:
    def __init__(
        self,
        engine: Engine,
        *,
        write: bool,
        writer_queue: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
        max_group: int = MAX_GROUP,
    ) -> None:
        self._engine = engine
        self._write = write
        self._writer_queue = writer_queue or contextlib.nullcontext
        self._max_group = max_group
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        # Both used by this committer's thread alone.
        self._connection: Connection | None = None
        self._unused_session: Session | None = None
        name = "db-write" if write else "db-read"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def submit(self, work: Callable[[Session], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        # The caller's context goes along, so log lines of the unit carry its request id.
        self._jobs.put(Job(work, contextvars.copy_context(), loop, future))
        return await future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._give_back_connection()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            while len(group) < self._max_group:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                group.append(job)
            self._commit(group)
            for job in group:
                job.settle()

    def _commit(self, jobs: list[Job]) -> None:
        run_unit = self._run_write if self._write else self._run_read
        try:
            connection = self._kept_connection()
            # Only the transaction waits for the other processes, not the pool checkout.
            with self._writer_queue(), connection.begin():
                for job in jobs:
                    job.outcome = run_unit(connection, job)
                    # Such an error ends the transaction for every unit, not just this one.
                    if not job.outcome[0] and transient(job.outcome[1]):
                        raise job.outcome[1]
        except Exception as error:
            # Nothing of the group landed. Never raised further: this thread serves them all.
            self._give_back_connection()
            if transient(error):
                self._fail_all(jobs, unavailable(error))
            else:
                logger.exception("database: a group of %d units was rolled back", len(jobs))
                self._fail_all(jobs, error)

    def _kept_connection(self) -> Connection:
        connection = self._connection
        if connection is None or connection.invalidated or connection.in_transaction():
            self._give_back_connection()
            connection = self._connection = self._engine.connect()
            connection.execution_options(write=self._write)
        return connection

    def _give_back_connection(self) -> None:
        """To the pool, which rolls back what is open and discards a connection that broke."""
        self._unused_session = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _session(self, connection: Connection) -> Session:
        """The session kept unused from the last unit, or a new one."""
        session, self._unused_session = self._unused_session, None
        if session is None:
            if self._write:
                # The ORM's own savepoint inside the unit's (see `_run_write`).
                session = Session(
                    bind=connection,
                    join_transaction_mode="create_savepoint",
                    expire_on_commit=False,
                )
            else:
                session = Session(bind=connection, expire_on_commit=False)
            session.info[UNIT_CONNECTION] = connection
        return session

    def _done_with(self, session: Session) -> None:
        """Kept for the next unit if this one never used it; closed otherwise, as a unit's
        session always was (its objects detached, its transaction ended)."""
        untouched = (
            not session.in_transaction()
            and not session.identity_map
            and not (session.new or session.dirty or session.deleted)
            and len(session.info) == 1
        )
        if untouched:
            self._unused_session = session
        else:
            session.close()

    def _run_read(self, connection: Connection, job: Job) -> tuple[bool, Any]:
        # A failed read wrote nothing: the next one goes on in the same transaction.
        session = self._session(connection)
        try:
            return True, job.context.run(job.work, session)
        except Exception as error:
            return False, error
        finally:
            self._done_with(session)

    def _run_write(self, connection: Connection, job: Job) -> tuple[bool, Any]:
        # The unit's own SAVEPOINT, on the driver: a rollback to it undoes this unit alone.
        # The hot path's prepared statements run on the connection directly; the ORM, when a
        # unit uses it, opens its savepoint inside this one (SQLAlchemy's own, so that a failed
        # flush rolls back to it rather than ending the group's transaction).
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("SAVEPOINT unit")
        session = self._session(connection)
        try:
            result = job.context.run(job.work, session)
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                session.commit()  # flushes; objects stay loaded, as after a plain commit
                session.close()
            else:
                self._done_with(session)
        except Exception as error:
            # After a fatal error these fail too; the group's error is what is reported.
            with contextlib.suppress(DBAPIError):
                session.rollback()
            with contextlib.suppress(sqlite3.Error):
                driver.execute("ROLLBACK TO unit")
                driver.execute("RELEASE unit")
            session.close()
            return False, error
        driver.execute("RELEASE unit")
        return True, result

    @staticmethod
    def _fail_all(jobs: list[Job], error: Exception) -> None:
        for job in jobs:
            job.outcome = (False, error)
