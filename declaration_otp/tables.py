"""Database tables. The database, not process memory, enforces the invariants of the flow."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

# SQLAlchemy naming convention keeps Alembic migrations identical on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return sqlite_utc_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The last datetime converted and its text: a unit of work binds its one `now` to several
# columns in a row (about half of a resend's datetimes). One (value, text) pair, replaced whole:
# whichever thread reads it sees a matching pair, and the value it holds cannot be freed and its
# identity reused while it is kept here.
_last_sqlite_text: tuple[datetime | None, str | None] = (None, None)


def sqlite_utc_text(value: datetime | None) -> str | None:
    """An aware datetime as SQLite's DATETIME stores it through SQLAlchemy, in UTC:
    "YYYY-MM-DD HH:MM:SS.ffffff", microseconds always written.

    The same text as `process_bind_param` followed by SQLAlchemy's own conversion (a format
    string filled from a dict of the seven fields), made by datetime's C `isoformat` at under
    half the cost: a resend binds about eighteen datetimes on SQLite's writer thread, while it
    holds the database's one write lock (docs/performance.md, twenty-second round)."""
    global _last_sqlite_text
    if value is None:
        return None
    last_value, last_text = _last_sqlite_text
    if value is last_value:
        return last_text
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # UTC's offset is written "+00:00": six characters off the end.
    text = value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]
    _last_sqlite_text = (value, text)
    return text


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class LegalEntity(SQLModel, table=True):
    __tablename__ = "legal_entities"

    id: uuid.UUID = Field(primary_key=True)
    name: str
    short_name: str
    edrpou: str = Field(max_length=10)
    status: str = Field(default="ACTIVE", max_length=20)


class Division(SQLModel, table=True):
    __tablename__ = "divisions"

    id: uuid.UUID = Field(primary_key=True)
    legal_entity_id: uuid.UUID = Field(foreign_key="legal_entities.id", index=True)
    name: str
    type: str = Field(default="CLINIC", max_length=40)
    status: str = Field(default="ACTIVE", max_length=20)


class Employee(SQLModel, table=True):
    __tablename__ = "employees"

    id: uuid.UUID = Field(primary_key=True)
    legal_entity_id: uuid.UUID = Field(foreign_key="legal_entities.id", index=True)
    employee_type: str = Field(max_length=40)
    position: str = Field(max_length=40)
    status: str = Field(default="APPROVED", max_length=20)
    first_name: str
    last_name: str
    second_name: str | None = None


class Person(SQLModel, table=True):
    __tablename__ = "persons"

    id: uuid.UUID = Field(primary_key=True)
    first_name: str
    last_name: str
    second_name: str | None = None
    birth_date: date


class AuthenticationMethod(SQLModel, table=True):
    __tablename__ = "authentication_methods"
    __table_args__ = (UniqueConstraint("person_id", "position"),)

    id: uuid.UUID = Field(primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    # Order as listed in the registry: the first method is the person's default.
    position: int
    type: str = Field(max_length=10)
    phone_number: str | None = Field(default=None, max_length=20)


class DeclarationRequest(SQLModel, table=True):
    __tablename__ = "declaration_requests"
    __table_args__ = (
        Index("ix_declaration_requests_owner_status", "legal_entity_id", "status", "inserted_at"),
        Index(
            "ix_declaration_requests_pending_pair",
            "person_id",
            "employee_id",
            "legal_entity_id",
            "status",
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    status: str = Field(max_length=20)
    status_reason: str | None = None
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    employee_id: uuid.UUID = Field(foreign_key="employees.id", index=True)
    division_id: uuid.UUID = Field(foreign_key="divisions.id")
    legal_entity_id: uuid.UUID = Field(foreign_key="legal_entities.id")
    declaration_id: uuid.UUID
    declaration_number: str = Field(max_length=20, unique=True)
    parent_declaration_id: uuid.UUID | None = None
    start_date: date
    end_date: date
    channel: str = Field(default="MIS", max_length=10)
    authorize_with: uuid.UUID | None = None
    auth_method_type: str = Field(max_length=10)
    # Full number: needed to send codes; masked on every way out.
    auth_phone_number: str | None = Field(default=None, max_length=20)
    data_to_be_signed: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    inserted_by: str = Field(max_length=64)
    updated_by: str = Field(max_length=64)
    inserted_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class PhoneSendState(SQLModel, table=True):
    """One row per phone that ever got a code: the lock that serialises its send limits on
    PostgreSQL. SQLite's one writer already serialises them, and it keeps no rows here."""

    __tablename__ = "phone_send_states"

    phone_number: str = Field(primary_key=True, max_length=20)
    last_sent_at: datetime = _utc_column()


class Verification(SQLModel, table=True):
    __tablename__ = "verifications"
    __table_args__ = (
        Index(
            "uq_verifications_active_phone",
            "phone_number",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index(
            "uq_verifications_active_declaration_request",
            "declaration_request_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_verifications_phone_inserted", "phone_number", "inserted_at"),
        Index("ix_verifications_request_inserted", "declaration_request_id", "inserted_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    declaration_request_id: uuid.UUID | None = Field(
        default=None, foreign_key="declaration_requests.id"
    )
    phone_number: str = Field(max_length=20)
    # HMAC-SHA256 of the code, keyed with SECRET_KEY and bound to this verification's id.
    code_hash: str = Field(max_length=64)
    status: str = Field(max_length=20)
    active: bool
    attempts_count: int = 0
    code_expired_at: datetime = _utc_column()
    inserted_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class SmsMessage(SQLModel, table=True):
    """Transactional outbox: written with its verification, delivered by the relay."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_due", "status", "next_attempt_at"),
        # Status callbacks find their message by the provider's id; a message has one only
        # once a provider accepted it, and until then writes no entry here (migration 0004).
        Index(
            "ix_sms_messages_provider",
            "gateway",
            "provider_message_id",
            sqlite_where=text("provider_message_id IS NOT NULL"),
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    verification_id: uuid.UUID = Field(foreign_key="verifications.id", index=True)
    declaration_request_id: uuid.UUID | None = None
    phone_number: str = Field(max_length=20)
    # AES-GCM ciphertext of the text (it contains the code); wiped once delivered.
    body_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    status: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _utc_column()
    claimed_until: datetime | None = _utc_column(nullable=True)
    expires_at: datetime = _utc_column()
    # Set by each claim; a relay records a result only while its own claim holds.
    claim_token: uuid.UUID | None = None
    gateway: str | None = Field(default=None, max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=100)
    # The provider's own last word (Twilio MessageStatus, ErrorCode), from status callbacks.
    provider_status: str | None = Field(default=None, max_length=40)
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))
    request_id: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = _utc_column(nullable=True)
    delivered_at: datetime | None = _utc_column(nullable=True)
    inserted_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class SmsAttempt(SQLModel, table=True):
    """One hand-over of a message to a gateway, and what came of it."""

    __tablename__ = "sms_attempts"
    __table_args__ = (UniqueConstraint("message_id", "attempt_no"),)

    id: uuid.UUID = Field(primary_key=True)
    # Found by the unique (message_id, attempt_no) index: no index of its own (migration 0004).
    message_id: uuid.UUID = Field(foreign_key="sms_messages.id")
    attempt_no: int
    gateway: str = Field(max_length=20)
    # sending, sent, retry, failed, expired, abandoned (claimer died), released (shutdown)
    outcome: str = Field(max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, sa_column=Column(String(500)))
    retry_at: datetime | None = _utc_column(nullable=True)
    started_at: datetime = _utc_column()
    finished_at: datetime | None = _utc_column(nullable=True)


class VerifiedPhone(SQLModel, table=True):
    """Phones that ever completed a verification (GET /api/verifications/{phone_number})."""

    __tablename__ = "verified_phones"

    phone_number: str = Field(primary_key=True, max_length=20)
    verified_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(primary_key=True)
    # HMAC-SHA256 of the token: a database leak gives no usable token.
    token_hash: str = Field(max_length=64, unique=True)
    client_id: uuid.UUID = Field(foreign_key="legal_entities.id")
    user_id: str = Field(max_length=64)
    scope: str
    expires_at: datetime | None = _utc_column(nullable=True)
    revoked_at: datetime | None = _utc_column(nullable=True)
    inserted_at: datetime = _utc_column()


# Kinds of `otp_events.event` (see declaration_otp/audit.py); the database refuses any other.
OTP_EVENT_KINDS = (
    "issued",
    "resent",
    "cancelled",
    "rate_limited",
    "sent",
    "delivered",
    "undelivered",
    "failed_attempt",
    "verified",
    "expired",
    "request_expired",
)


class OtpEvent(SQLModel, table=True):
    """Append-only audit trail of codes: what happened, when, to which request, by whom.

    Never a code, a code hash or a full phone number. Rows are written in the transaction of the
    change they record (a refused send, rolled back, gets its own small write) and only deleted
    by the retention purge; the database refuses UPDATE (trigger `otp_events_append_only`).
    No foreign keys: the trail outlives the verifications it names (their retention is shorter).
    """

    __tablename__ = "otp_events"
    __table_args__ = (
        Index("ix_otp_events_request_time", "declaration_request_id", "occurred_at"),
        CheckConstraint(
            "event IN (" + ", ".join(f"'{kind}'" for kind in OTP_EVENT_KINDS) + ")", name="event"
        ),
    )

    # A sequence, not a UUID: events of one instant keep the order they were written in.
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    occurred_at: datetime = _utc_column(index=True)
    event: str = Field(max_length=20)
    declaration_request_id: uuid.UUID | None = None
    verification_id: uuid.UUID | None = None
    # Who caused it: the caller's user and legal entity; empty for the relay, providers and
    # housekeeping.
    actor_user_id: str | None = Field(default=None, max_length=64)
    actor_legal_entity_id: uuid.UUID | None = None
    # X-Request-ID of the API request that caused it (relay and provider events: of the request
    # that queued the SMS).
    request_id: str | None = Field(default=None, max_length=200)
    # Short, non-secret: a reason, an attempt count, a gateway, a masked phone.
    detail: str | None = Field(default=None, max_length=200)
