"""How a database failure reaches callers: one exception for every transient cause."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the connection."""


def unavailable(error: DBAPIError | PoolTimeoutError) -> DatabaseUnavailable:
    """Connection lost or refused, server restarting, lock or statement timeout, pool empty:
    all transient, all rolled back; the client may retry. Only the driver's first line is kept
    (never statement parameters)."""
    if isinstance(error, PoolTimeoutError):
        return DatabaseUnavailable("no database connection free in time")
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return DatabaseUnavailable(reason)
