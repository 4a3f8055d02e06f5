"""fewer index writes per code: a redundant index dropped, one made partial

Every index a row is in is one more page a COMMIT writes (SQLite writes each page a transaction
touched to its write-ahead log whole: about 28 pages, 115 KB, per resend; docs/performance.md,
fourteenth round). Two of them did not earn that:

* `ix_sms_attempts_message_id` repeated the leading column of the unique (message_id,
  attempt_no) index, which serves every lookup by message (and the foreign key) as well;
* `ix_sms_messages_provider` held every message from its insert, when status callbacks look a
  message up only by the provider's id, which a message has once a provider accepted it: the
  index now holds those alone (`WHERE provider_message_id IS NOT NULL`), and a new message
  writes no entry into it.

On PostgreSQL the indexes are built and dropped CONCURRENTLY, outside the migration's
transaction: the outbox keeps taking writes while the partial index is built on a large table.
The new index is built under a temporary name, then takes the old one's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROVIDER_INDEX = "ix_sms_messages_provider"
_ATTEMPTS_INDEX = "ix_sms_attempts_message_id"
_BUILDING = "ix_sms_messages_provider_building"
_HAS_PROVIDER_ID = "provider_message_id IS NOT NULL"


def _replace_provider_index_on_postgres(where: str) -> None:
    with op.get_context().autocommit_block():
        # A build that failed half-way leaves an invalid index behind: start from nothing.
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_BUILDING}")
        op.execute(
            f"CREATE INDEX CONCURRENTLY {_BUILDING} "
            f"ON sms_messages (gateway, provider_message_id){where}"
        )
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_PROVIDER_INDEX}")
        op.execute(f"ALTER INDEX {_BUILDING} RENAME TO {_PROVIDER_INDEX}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_ATTEMPTS_INDEX}")
        _replace_provider_index_on_postgres(f" WHERE {_HAS_PROVIDER_ID}")
        return
    op.drop_index(_ATTEMPTS_INDEX, table_name="sms_attempts")
    op.drop_index(_PROVIDER_INDEX, table_name="sms_messages")
    op.create_index(
        _PROVIDER_INDEX,
        "sms_messages",
        ["gateway", "provider_message_id"],
        sqlite_where=sa.text(_HAS_PROVIDER_ID),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_provider_index_on_postgres("")
        with op.get_context().autocommit_block():
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_ATTEMPTS_INDEX} "
                "ON sms_attempts (message_id)"
            )
        return
    op.drop_index(_PROVIDER_INDEX, table_name="sms_messages")
    op.create_index(_PROVIDER_INDEX, "sms_messages", ["gateway", "provider_message_id"])
    op.create_index(_ATTEMPTS_INDEX, "sms_attempts", ["message_id"])
