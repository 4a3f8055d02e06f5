"""a new code's rows in one SQLite statement: the code_issues view and its trigger

On SQLite every write runs under the database's one write lock, and every statement is a call
into the driver that gives the GIL up around SQLite's work and must take it back from the event
loop before the next one (docs/performance.md, eighteenth round). A code issued with its SMS was
six statements after the limits' read: the replaced codes deactivated, their queued SMS dropped,
the new code, its SMS, its send attempt, the events. PostgreSQL writes them in one statement
(data-modifying WITH); SQLite has none, so it gets a view that takes every value of those rows
once and an INSTEAD OF INSERT trigger that writes them: one `INSERT INTO code_issues` is the
whole change, atomic as any statement (a failing row undoes the trigger's other rows).

The view's columns are the rows' columns prefixed by their row (`code_`, `sms_`, `attempt_`,
`event_`) plus what the replaced codes take (`replaced_`), the names declaration_otp/
sqlite_code_issues.py gives the values it binds. The trigger names the tables it writes: a later
migration that rebuilds one of them (alembic's batch mode on SQLite copies and renames tables)
drops this trigger first and creates it again after.

Nothing on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = "code_issues"
TRIGGER = "code_issues_insert"

CODE = (
    "id",
    "declaration_request_id",
    "phone_number",
    "code_hash",
    "status",
    "active",
    "attempts_count",
    "code_expired_at",
    "inserted_at",
    "updated_at",
)
SMS = (
    "id",
    "verification_id",
    "declaration_request_id",
    "phone_number",
    "body_ciphertext",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "claim_token",
    "expires_at",
    "request_id",
    "inserted_at",
    "updated_at",
)
ATTEMPT = (
    "id",
    "message_id",
    "attempt_no",
    "gateway",
    "outcome",
    "provider_message_id",
    "error",
    "retry_at",
    "started_at",
    "finished_at",
)
EVENT = (
    "occurred_at",
    "event",
    "declaration_request_id",
    "verification_id",
    "actor_user_id",
    "actor_legal_entity_id",
    "request_id",
    "detail",
)
# The replaced codes: their new status, their queued SMS's (and what "queued" is), their events'
# kind and detail, and when (their events take the rest from the new code's event).
REPLACED = ("at", "status", "sms_status", "sms_queued_status", "event", "detail")

PARTS = (
    ("code", CODE),
    ("sms", SMS),
    ("attempt", ATTEMPT),
    ("event", EVENT),
    ("replaced", REPLACED),
)


def _columns(prefix: str, names: Sequence[str]) -> list[str]:
    return [f"{prefix}_{name}" for name in names]


def _new(prefix: str, names: Sequence[str]) -> str:
    return ", ".join(f"NEW.{column}" for column in _columns(prefix, names))


# Spelled as the partial unique indexes' predicate (`WHERE active`) inside each branch, as
# codes._cancel_update does: SQLite then searches those two small indexes.
_ACTIVE = (
    "(active AND phone_number = NEW.code_phone_number)"
    " OR (active AND declaration_request_id = NEW.code_declaration_request_id)"
)


def _trigger() -> str:
    # `+status`: without statistics SQLite would search the SMS by status (ix_sms_messages_due,
    # every queued message: thousands when the relay is behind) rather than by the code's id.
    # Built from this module's constants only: no outside value reaches the SQL text.
    return f"""
CREATE TRIGGER {TRIGGER} INSTEAD OF INSERT ON {VIEW}
BEGIN
    INSERT INTO otp_events ({", ".join(EVENT)})
    SELECT NEW.replaced_at, NEW.replaced_event, declaration_request_id, id,
           NEW.event_actor_user_id, NEW.event_actor_legal_entity_id, NEW.event_request_id,
           NEW.replaced_detail
    FROM verifications WHERE {_ACTIVE};
    UPDATE sms_messages
    SET status = NEW.replaced_sms_status, body_ciphertext = NULL, updated_at = NEW.replaced_at
    WHERE verification_id IN (SELECT id FROM verifications WHERE {_ACTIVE})
      AND +status = NEW.replaced_sms_queued_status;
    UPDATE verifications
    SET active = 0, status = NEW.replaced_status, updated_at = NEW.replaced_at
    WHERE {_ACTIVE};
    INSERT INTO verifications ({", ".join(CODE)}) VALUES ({_new("code", CODE)});
    INSERT INTO sms_messages ({", ".join(SMS)}) VALUES ({_new("sms", SMS)});
    INSERT INTO sms_attempts ({", ".join(ATTEMPT)})
    SELECT {_new("attempt", ATTEMPT)} WHERE NEW.attempt_id IS NOT NULL;
    INSERT INTO otp_events ({", ".join(EVENT)}) VALUES ({_new("event", EVENT)});
END"""  # noqa: S608


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # A view of no rows: only its columns matter, as the trigger's NEW.
    columns = ", ".join(
        f"NULL AS {column}" for prefix, names in PARTS for column in _columns(prefix, names)
    )
    op.execute(f"CREATE VIEW {VIEW} AS SELECT {columns} WHERE 0")
    op.execute(_trigger())


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.execute(f"DROP VIEW IF EXISTS {VIEW}")
