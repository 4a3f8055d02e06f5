"""How a database failure reaches callers: one exception for every transient cause."""

from __future__ import annotations

from typing import TypeGuard

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the connection."""


def transient(error: BaseException) -> TypeGuard[DBAPIError | PoolTimeoutError]:
    """Errors that end the whole transaction and say nothing about the data: the database is
    unreachable, restarting, locked or timed out, the connection was lost or the pool is empty."""
    if isinstance(error, OperationalError | PoolTimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def unavailable(error: DBAPIError | PoolTimeoutError) -> DatabaseUnavailable:
    """Connection lost or refused, server restarting, lock or statement timeout, pool empty:
    all transient, all rolled back; the client may retry. Only the driver's first line is kept
    (never statement parameters)."""
    if isinstance(error, PoolTimeoutError):
        return DatabaseUnavailable("no database connection free in time")
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return DatabaseUnavailable(reason)
