"""The schema revision this code needs, and the revision a database is at.

`serve` compares them before it starts and `/health/ready` on every check. The head is written
here rather than asked of alembic: importing alembic and reading the migration scripts took a
quarter of a second of every start and put alembic in every worker's memory. A test checks that
it is the head of `migrations/versions`: a new migration fails it until this is updated.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, inspect, text

HEAD_REVISION: Final = "0005"


def database_revision(connection: Connection) -> str | None:
    """The revision recorded in the database; None when it was never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)
