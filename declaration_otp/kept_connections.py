"""PostgreSQL: each database thread keeps its connection from one unit of work to the next.

Checking a connection out of SQLAlchemy's pool and back in for every unit, and switching the
driver in and out of autocommit for the units that run without the driver's own transaction
(the token lookup, the resend's pipelined unit), cost a unit about as much CPU as the driver
sending its statements (docs/performance.md, twenty-second round). A thread that keeps its
connection pays that once. What a checkout guaranteed is checked here before every unit instead:
a connection the server closed, one SQLAlchemy invalidated after an error, and one left inside a
transaction are all given back (closed) and replaced, so a unit always starts on a live, idle
connection.
"""

from __future__ import annotations

import contextlib
import select
import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

_AUTOCOMMIT = "AUTOCOMMIT"


def _readable(fd: int) -> bool:
    """Whether the socket has something to read, without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable_now, _, _ = select.select([fd], [], [], 0)  # Windows: no poll()
    return bool(readable_now)


def closed_by_server(dbapi_connection: Any) -> bool:
    """An idle connection has nothing to read unless the server has closed it (restart,
    `pg_terminate_backend`, idle timeout: it says why, then closes the socket). One non-blocking
    poll finds those where a ping would cost a round trip. A peer that vanished without closing
    (a cut network) is found by neither before the first statement; that statement then fails as
    unavailable."""
    return bool(dbapi_connection.closed) or _readable(dbapi_connection.fileno())


def _reusable(connection: Connection) -> bool:
    if connection.closed or connection.invalidated:
        return False
    driver: Any = connection.connection.driver_connection
    if driver is None or closed_by_server(driver):
        return False
    return str(driver.info.transaction_status.name) == "IDLE"


class KeptConnections:
    """One connection per calling thread, checked out once and kept until it is not reusable.

    For the database threads of one `Database` only: a thread that is not one of them would keep
    a pooled connection for as long as it lives."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: set[Connection] = set()

    def connection(self, *, autocommit: bool) -> Connection:
        """This thread's connection, live and idle, in autocommit mode or in the engine's
        default isolation level as asked (switched only when the previous unit differed)."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is not None and not _reusable(connection):
            self._give_back(connection)
            connection = None
        if connection is None:
            connection = self._engine.connect()  # the pool's checkout replaces closed ones too
            self._local.connection = connection
            with self._lock:
                self._all.add(connection)
        current = connection.get_execution_options().get("isolation_level")
        if autocommit and current != _AUTOCOMMIT:
            connection.execution_options(isolation_level=_AUTOCOMMIT)
        elif not autocommit and current == _AUTOCOMMIT:
            connection.execution_options(isolation_level=connection.default_isolation_level)
        return connection

    def _give_back(self, connection: Connection) -> None:
        self._local.connection = None
        with self._lock:
            self._all.discard(connection)
        live = not (connection.closed or connection.invalidated)
        if live and closed_by_server(connection.connection.dbapi_connection):
            # Not back into the pool: the next checkout would only find it closed again.
            connection.invalidate()
        # Back to the pool, which rolls back a transaction left open (or drops the connection
        # if even that fails).
        connection.close()

    def close(self) -> None:
        """Give every kept connection back; call once the threads that kept them are done."""
        with self._lock:
            kept, self._all = list(self._all), set()
        for connection in kept:
            # At shutdown: a connection the server already closed must not stop the others.
            with contextlib.suppress(Exception):
                connection.close()
