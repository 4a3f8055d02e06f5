"""The audit trail of codes (`otp_events`): append-only, written with the change it records.

Every event is inserted by the unit of work that makes the change (issue, cancel, attempt, relay
result, provider report, housekeeping), so the trail and the data can never disagree: both commit
or neither does. Events hold ids, the actor, the request id and a short detail — never a code, a
code hash or a full phone number.

The one exception is `rate_limited`. A refused send answers 429 by raising inside its unit of
work, which rolls everything back ("nothing changes", as the API promises), the event included.
So the refusal is recorded by `record_rate_limited` in a second, small transaction after the
rollback — still through `Database.write`, off the event loop. It is best effort: if that write
fails, the client still gets its 429 and the failure is logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Insert, Table, bindparam, insert, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from declaration_otp.database import DatabaseUnavailable
from declaration_otp.errors import ApiError
from declaration_otp.prepared import Prepared, dialect_name
from declaration_otp.runtime import Services
from declaration_otp.tables import OTP_EVENT_KINDS, OtpEvent

logger = logging.getLogger(__name__)

DETAIL_MAX = 200
# Built once, on the table (Core): written with every code issued, cancelled or sent, so building
# an ORM insert per row would cost more than the row itself (scripts/bench).
_EVENTS: Table = OtpEvent.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = Prepared(insert(_EVENTS))


class EventKind(StrEnum):
    ISSUED = "issued"  # first code of a request, or a code of the OTP verification API
    RESENT = "resent"  # a new code by resend_otp
    CANCELLED = "cancelled"  # a code replaced, or its request rejected, superseded or expired
    RATE_LIMITED = "rate_limited"  # a send refused by the cooldown or a send limit (429)
    SENT = "sent"  # a provider took the SMS
    DELIVERED = "delivered"  # the provider reported delivery
    UNDELIVERED = "undelivered"  # the SMS failed, expired unsent, or the provider gave up
    FAILED_ATTEMPT = "failed_attempt"  # a wrong, expired or exhausted code was tried
    VERIFIED = "verified"  # the right code
    EXPIRED = "expired"  # housekeeping retired a code past its lifetime
    REQUEST_EXPIRED = "request_expired"  # housekeeping expired a NEW/APPROVED request


if {kind.value for kind in EventKind} != set(OTP_EVENT_KINDS):  # the check constraint's list
    raise RuntimeError("EventKind and tables.OTP_EVENT_KINDS differ")


class _CallerLike(Protocol):
    @property
    def legal_entity_id(self) -> uuid.UUID: ...

    @property
    def user_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event; `None` in its place means the service itself."""

    user_id: str
    legal_entity_id: uuid.UUID

    @classmethod
    def of(cls, caller: _CallerLike) -> Actor:
        return cls(user_id=caller.user_id, legal_entity_id=caller.legal_entity_id)


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    declaration_request_id: uuid.UUID | None = None
    verification_id: uuid.UUID | None = None
    detail: str | None = None


def record(
    session: Session,
    events: Sequence[Event],
    *,
    at: datetime,
    actor: Actor | None = None,
    request_id: str | None = None,
) -> None:
    """Append `events` in the caller's transaction, in the order given."""
    insert_rows(
        session, [event_row(event, at=at, actor=actor, request_id=request_id) for event in events]
    )


def insert_rows(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Append events given as their rows (`event_row`, all with the same columns), in order.

    SQLite: one statement for up to `_ROWS_PER_INSERT` rows (a multi-row VALUES is inserted in
    the order written, so the ids keep it). The trail is written under SQLite's one write lock,
    where each statement also hands the GIL over twice (a new code's events are written by its
    own statement there: sqlite_code_issues.py). PostgreSQL assigns the ids of a multi-row VALUES
    in no promised order: one statement per row there (the hot paths there insert events inside
    their own statements: `insert_events_from`)."""
    if not rows:
        return
    if dialect_name(session) != "sqlite":
        for row in rows:
            _INSERT_EVENT.run(session, row)
        return
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        columns = tuple(chunk[0])
        statement = _multi_row_insert(len(chunk), columns)
        statement.run(
            session,
            {f"r{index}_{name}": row[name] for index, row in enumerate(chunk) for name in columns},
        )


# Bounds the bind parameters of one statement (8 a row) and the statements kept compiled.
_ROWS_PER_INSERT = 16
_MULTI_ROW_INSERTS: dict[tuple[int, tuple[str, ...]], Prepared] = {}


def _multi_row_insert(count: int, columns: tuple[str, ...]) -> Prepared:
    key = (count, columns)
    found = _MULTI_ROW_INSERTS.get(key)
    if found is None:
        values = [
            {name: bindparam(f"r{index}_{name}", type_=_EVENTS.c[name].type) for name in columns}
            for index in range(count)
        ]
        found = _MULTI_ROW_INSERTS[key] = Prepared(insert(_EVENTS).values(values))
    return found


def event_row(
    event: Event, *, at: datetime, actor: Actor | None, request_id: str | None
) -> dict[str, object]:
    """`event`'s row, by column (the id is the database's)."""
    return {
        "event": event.kind.value,
        "declaration_request_id": event.declaration_request_id,
        "verification_id": event.verification_id,
        **shared_params(at=at, actor=actor, request_id=request_id, detail=event.detail),
    }


def shared_params(
    *, at: datetime, actor: Actor | None, request_id: str | None, detail: str | None
) -> dict[str, object]:
    """The values an event takes from its context, by column (see `insert_events_from` for
    them as bind parameters)."""
    return {
        "occurred_at": at,
        "actor_user_id": actor.user_id if actor else None,
        "actor_legal_entity_id": actor.legal_entity_id if actor else None,
        "request_id": request_id,
        "detail": detail[:DETAIL_MAX] if detail else None,
    }


# Bind parameters of `insert_events_from`, named apart from the columns: a statement compiled
# with a parameter named as a column of a table it updates sets that column from it.
_BIND_PREFIX = "event_"


def insert_events_from(
    kind: EventKind,
    *,
    declaration_request_id: ColumnElement[Any],
    verification_id: ColumnElement[Any],
) -> Insert:
    """A statement appending a `kind` event for each row of the WITH part (CTE) the two columns
    are taken from, in the statement that produces those rows: on PostgreSQL a change and its
    events can be one statement (see codes.cancel_active_codes, sms/outbox._record). Its bind
    parameters: `events_from_params`."""
    c = _EVENTS.c
    shared = ("occurred_at", "actor_user_id", "actor_legal_entity_id", "request_id", "detail")
    return insert(_EVENTS).from_select(
        ["event", "declaration_request_id", "verification_id", *shared],
        sa_select(
            literal(kind.value, type_=c.event.type),
            declaration_request_id,
            verification_id,
            *(bindparam(_BIND_PREFIX + name, type_=c[name].type) for name in shared),
        ),
    )


def events_from_params(
    *, at: datetime, actor: Actor | None, request_id: str | None, detail: str | None
) -> dict[str, object]:
    shared = shared_params(at=at, actor=actor, request_id=request_id, detail=detail)
    return {_BIND_PREFIX + name: value for name, value in shared.items()}


async def record_rate_limited(
    services: Services,
    error: ApiError,
    *,
    declaration_request_id: uuid.UUID | None,
    actor: Actor,
    request_id: str,
    detail: str,
) -> None:
    """After a 429 rolled its unit of work back: record the refusal in a write of its own."""
    if error.status != 429:
        return
    retry_after = error.headers.get("Retry-After", "?")
    event = Event(
        EventKind.RATE_LIMITED,
        declaration_request_id=declaration_request_id,
        detail=f"{detail}; Retry-After {retry_after} s",
    )
    at = services.clock()
    try:
        await services.database.write(
            lambda session: record(session, [event], at=at, actor=actor, request_id=request_id)
        )
    except DatabaseUnavailable as failure:
        logger.warning("audit: could not record a rate-limited send: %s", failure)


def story(session: Session, *, declaration_request_id: uuid.UUID) -> list[OtpEvent]:
    """Every event of one declaration request, oldest first."""
    return list(
        session.exec(
            select(OtpEvent)
            .where(col(OtpEvent.declaration_request_id) == declaration_request_id)
            .order_by(col(OtpEvent.occurred_at), col(OtpEvent.id))
        ).all()
    )
