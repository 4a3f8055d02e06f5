"""Outbox rows: queued with their verification, claimed and settled by the relay.

Every claim gives the row a fresh `claim_token` and opens one `sms_attempts` row in the same
transaction; a result is recorded on the message only while that token still holds, so a relay
that lost its claim (it was too slow, or presumed dead) can never overwrite a newer outcome.
A message can also be claimed in the transaction that queues it (`BirthClaim`): the relay of
the process that wrote it sends it as soon as that transaction commits, without a claim of its
own; if that process dies first, the claim expires and any relay takes the message as usual.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, Select, Table, Update, and_, bindparam, insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from declaration_otp import audit
from declaration_otp.audit import Event, EventKind
from declaration_otp.prepared import Prepared, dialect_name
from declaration_otp.randomness import random_uuid, time_ordered_uuid
from declaration_otp.tables import SmsAttempt, SmsMessage


class SmsStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELED = "canceled"


class SendOutcome(StrEnum):
    """What became of one attempt (`sms_attempts.outcome`)."""

    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"
    ABANDONED = "abandoned"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class ClaimedSms:
    id: uuid.UUID
    verification_id: uuid.UUID
    declaration_request_id: uuid.UUID | None
    phone_number: str
    body_ciphertext: bytes | None
    attempts: int
    expires_at: datetime
    request_id: str | None
    claim_token: uuid.UUID
    attempt_id: uuid.UUID
    gateway: str


_SMS: Table = SmsMessage.__table__  # type: ignore[attr-defined]
_ATTEMPTS: Table = SmsAttempt.__table__  # type: ignore[attr-defined]
_OPEN_ATTEMPT = Prepared(insert(_ATTEMPTS))


@dataclass(frozen=True, slots=True)
class BirthClaim:
    """A claim for the in-process relay, taken in the transaction that queues the message (it
    spares the relay a claim transaction per batch). Made before that transaction, like the
    code's draft; `seconds` is `RELAY_CLAIM_SECONDS`."""

    gateway: str
    claim_token: uuid.UUID
    attempt_id: uuid.UUID
    seconds: float


@dataclass(frozen=True, slots=True)
class OutboxRows:
    """A new message's rows, by column: the message, and its first send attempt when it is
    claimed at birth (`claimed` then: what the claimer sends once the rows are committed)."""

    message: dict[str, Any]
    attempt: dict[str, Any] | None
    claimed: ClaimedSms | None


def outbox_rows(
    *,
    sms_id: uuid.UUID,
    verification_id: uuid.UUID,
    declaration_request_id: uuid.UUID | None,
    phone_number: str,
    body_ciphertext: bytes,
    expires_at: datetime,
    request_id: str | None,
    now: datetime,
    claim: BirthClaim | None,
) -> OutboxRows:
    """One message for the outbox: queued for any relay, or already claimed by `claim`."""
    message: dict[str, Any] = {
        "id": sms_id,
        "verification_id": verification_id,
        "declaration_request_id": declaration_request_id,
        "phone_number": phone_number,
        "body_ciphertext": body_ciphertext,
        "status": SmsStatus.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "claim_token": None,
        "expires_at": expires_at,
        "request_id": request_id,
        "inserted_at": now,
        "updated_at": now,
    }
    if claim is None:
        return OutboxRows(message=message, attempt=None, claimed=None)
    message.update(
        status=SmsStatus.SENDING.value,
        attempts=1,
        claimed_until=now + timedelta(seconds=claim.seconds),
        claim_token=claim.claim_token,
    )
    attempt = _attempt_row(
        attempt_id=claim.attempt_id, message_id=sms_id, attempt_no=1, gateway=claim.gateway, now=now
    )
    claimed = ClaimedSms(
        id=sms_id,
        verification_id=verification_id,
        declaration_request_id=declaration_request_id,
        phone_number=phone_number,
        body_ciphertext=body_ciphertext,
        attempts=1,
        expires_at=expires_at,
        request_id=request_id,
        claim_token=claim.claim_token,
        attempt_id=claim.attempt_id,
        gateway=claim.gateway,
    )
    return OutboxRows(message=message, attempt=attempt, claimed=claimed)


def _attempt_row(
    *,
    attempt_id: uuid.UUID,
    message_id: uuid.UUID,
    attempt_no: int,
    gateway: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": attempt_id,
        "message_id": message_id,
        "attempt_no": attempt_no,
        "gateway": gateway,
        "outcome": SendOutcome.SENDING.value,
        "provider_message_id": None,
        "error": None,
        "retry_at": None,
        "started_at": now,
        "finished_at": None,
    }


def drop_queued(codes: Select[Any] | BindParameter[Any]) -> Update:
    """The statement that drops the still-queued messages (text wiped) of a code (a bind
    parameter) or of the codes a query selects, stamped with the bind parameter `at`."""
    of_codes = (
        _SMS.c.verification_id.in_(codes)
        if isinstance(codes, Select)
        else _SMS.c.verification_id == codes
    )
    return (
        update(_SMS)
        .where(of_codes, _SMS.c.status == SmsStatus.QUEUED.value)
        .values(status=SmsStatus.CANCELED.value, body_ciphertext=None, updated_at=bindparam("at"))
    )


# On SQLite, with every code replaced (see prepared.py; PostgreSQL drops them in the cancel's
# own statement: codes.cancel_active_codes). One code has one message, and a resend replaces at
# most two codes (the phone's and the request's), so one statement per code.
_CANCEL_QUEUED = Prepared(drop_queued(bindparam("code")))


def cancel_queued_for(
    session: Session, *, verification_ids: list[uuid.UUID], now: datetime
) -> None:
    """A replaced code must not reach the phone after its successor: drop it if still queued."""
    for verification_id in verification_ids:
        _CANCEL_QUEUED.run(session, {"code": verification_id, "at": now})


_DUE_COLUMNS = (
    _SMS.c.id,
    _SMS.c.verification_id,
    _SMS.c.declaration_request_id,
    _SMS.c.phone_number,
    _SMS.c.body_ciphertext,
    _SMS.c.status,
    _SMS.c.attempts,
    _SMS.c.expires_at,
    _SMS.c.request_id,
)
# The relay's statements run once per message sent (see prepared.py).
_DUE = Prepared(
    sa_select(*_DUE_COLUMNS)
    .where(
        or_(
            and_(
                _SMS.c.status == SmsStatus.QUEUED.value, _SMS.c.next_attempt_at <= bindparam("now")
            ),
            and_(_SMS.c.status == SmsStatus.SENDING.value, _SMS.c.claimed_until < bindparam("now")),
        )
    )
    .order_by(_SMS.c.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM = Prepared(
    update(_SMS)
    .where(_SMS.c.id == bindparam("message"))
    .values(
        status=SmsStatus.SENDING.value,
        claimed_until=bindparam("until"),
        claim_token=bindparam("token"),
        attempts=bindparam("attempt_no"),
        updated_at=bindparam("at"),
    )
)


def claim_due(
    session: Session, *, now: datetime, limit: int, claim_seconds: float, gateway: str
) -> list[ClaimedSms]:
    """Take due messages (and ones whose claimer died) for `claim_seconds`, for `gateway`.

    Atomic: rows locked by another relay are skipped on PostgreSQL (`FOR UPDATE SKIP LOCKED`);
    SQLite has a single writer (`BEGIN IMMEDIATE`).
    """
    rows = _DUE.rows(session, {"now": now, "limit": limit})
    orphaned = [row.id for row in rows if row.status == SmsStatus.SENDING.value]
    if orphaned:
        _finish_open_attempts(
            session,
            message_ids=orphaned,
            outcome=SendOutcome.ABANDONED,
            error="claim expired before a result was recorded (relay stopped or too slow)",
            now=now,
        )
    claimed_until = now + timedelta(seconds=claim_seconds)
    claimed: list[ClaimedSms] = []
    for row in rows:
        token, attempt_id, attempt_no = random_uuid(), time_ordered_uuid(), row.attempts + 1
        _CLAIM.run(
            session,
            {
                "message": row.id,
                "until": claimed_until,
                "token": token,
                "attempt_no": attempt_no,
                "at": now,
            },
        )
        _OPEN_ATTEMPT.run(
            session,
            _attempt_row(
                attempt_id=attempt_id,
                message_id=row.id,
                attempt_no=attempt_no,
                gateway=gateway,
                now=now,
            ),
        )
        claimed.append(
            ClaimedSms(
                id=row.id,
                verification_id=row.verification_id,
                declaration_request_id=row.declaration_request_id,
                phone_number=row.phone_number,
                body_ciphertext=row.body_ciphertext,
                attempts=attempt_no,
                expires_at=row.expires_at,
                request_id=row.request_id,
                claim_token=token,
                attempt_id=attempt_id,
                gateway=gateway,
            )
        )
    return claimed


def _finish_open_attempts(
    session: Session,
    *,
    message_ids: list[uuid.UUID],
    outcome: SendOutcome,
    error: str,
    now: datetime,
) -> None:
    session.execute(
        update(SmsAttempt)
        .where(
            col(SmsAttempt.message_id).in_(message_ids),
            col(SmsAttempt.outcome) == SendOutcome.SENDING.value,
        )
        .values(outcome=outcome.value, error=error, finished_at=now)
    )


def _record(
    session: Session,
    claimed: ClaimedSms,
    *,
    outcome: SendOutcome,
    now: datetime,
    error: str | None = None,
    attempt_values: dict[str, Any] | None = None,
    event: tuple[EventKind, str] | None = None,
    **message_values: Any,
) -> bool:
    """Close the attempt; update the message if our claim still holds, and only then append
    `event` (its kind and detail) to the trail. True when the claim held."""
    attempt_values = attempt_values or {}
    attempt = {
        "a_attempt_id": claimed.attempt_id,
        "a_outcome": outcome.value,
        "a_error": error[:500] if error else None,
        "a_finished_at": now,
        **{f"a_{key}": value for key, value in attempt_values.items()},
    }
    message = {
        "m_message_id": claimed.id,
        "m_claim_token": claimed.claim_token,
        "m_updated_at": now,
        **{f"m_{key}": value for key, value in message_values.items()},
    }
    statements = _record_statements(
        tuple(sorted(attempt_values)), tuple(sorted(message_values)), event[0] if event else None
    )
    if dialect_name(session) != "sqlite":
        # Rows returned, not a row count: in a pipelined unit (see Relay._write) reading them
        # is what waits for the statement's answer.
        params = attempt | message
        if event is not None:
            params |= audit.events_from_params(
                at=now, actor=None, request_id=claimed.request_id, detail=event[1]
            )
        return len(statements.in_one.rows(session, params)) == 1
    statements.close_attempt.run(session, attempt)
    recorded = len(statements.update_message.rows(session, message)) == 1
    if recorded and event is not None:
        _audit(session, claimed, *event, now)
    return recorded


@dataclass(frozen=True, slots=True)
class _RecordStatements:
    """`_record`'s statements for one kind of result: its two updates, which SQLite runs one by
    one, and both with the event as one statement for PostgreSQL (a data-modifying WITH: the
    message's update returns the row the event is made from)."""

    close_attempt: Prepared
    update_message: Prepared
    in_one: Prepared


_RECORD_STATEMENTS: dict[
    tuple[tuple[str, ...], tuple[str, ...], EventKind | None], _RecordStatements
] = {}


def _record_statements(
    attempt_keys: tuple[str, ...], message_keys: tuple[str, ...], kind: EventKind | None
) -> _RecordStatements:
    """`_record`'s statements for these columns and event, built once (one per kind of result)."""
    cache_key = (attempt_keys, message_keys, kind)
    found = _RECORD_STATEMENTS.get(cache_key)
    if found is None:
        close_attempt = (
            update(_ATTEMPTS)
            .where(_ATTEMPTS.c.id == bindparam("a_attempt_id"))
            .values(
                outcome=bindparam("a_outcome"),
                error=bindparam("a_error"),
                finished_at=bindparam("a_finished_at"),
                **{key: bindparam(f"a_{key}") for key in attempt_keys},
            )
        )
        update_message = (
            update(_SMS)
            .where(
                _SMS.c.id == bindparam("m_message_id"),
                _SMS.c.claim_token == bindparam("m_claim_token"),
                _SMS.c.status == SmsStatus.SENDING.value,
            )
            .values(
                claimed_until=None,
                claim_token=None,
                updated_at=bindparam("m_updated_at"),
                **{key: bindparam(f"m_{key}") for key in message_keys},
            )
            .returning(_SMS.c.id)
        )
        updated = update_message.returning(
            _SMS.c.verification_id, _SMS.c.declaration_request_id
        ).cte("updated")
        in_one = sa_select(updated.c.id).add_cte(close_attempt.cte("closed"))
        if kind is not None:
            events = audit.insert_events_from(
                kind,
                declaration_request_id=updated.c.declaration_request_id,
                verification_id=updated.c.verification_id,
            )
            in_one = in_one.add_cte(events.cte("logged"))
        found = _RECORD_STATEMENTS[cache_key] = _RecordStatements(
            Prepared(close_attempt), Prepared(update_message), Prepared(in_one)
        )
    return found


def _audit(
    session: Session, claimed: ClaimedSms, kind: EventKind, detail: str, now: datetime
) -> None:
    """A relay outcome in the trail, under the request id of the request that queued the SMS."""
    event = Event(kind, claimed.declaration_request_id, claimed.verification_id, detail)
    audit.record(session, [event], at=now, request_id=claimed.request_id)


def record_sent(
    session: Session, claimed: ClaimedSms, *, provider_message_id: str | None, now: datetime
) -> bool:
    # The text holds the code: once the gateway took it, it is not kept.
    return _record(
        session,
        claimed,
        outcome=SendOutcome.SENT,
        now=now,
        attempt_values={"provider_message_id": provider_message_id},
        status=SmsStatus.SENT.value,
        gateway=claimed.gateway,
        provider_message_id=provider_message_id,
        body_ciphertext=None,
        sent_at=now,
        last_error=None,
        event=(EventKind.SENT, sent_detail(claimed)),
    )


def sent_detail(claimed: ClaimedSms) -> str:
    """The `sent` event's detail."""
    return f"gateway {claimed.gateway}, attempt {claimed.attempts}"


def record_retry(
    session: Session, claimed: ClaimedSms, *, error: str, retry_at: datetime, now: datetime
) -> bool:
    return _record(
        session,
        claimed,
        outcome=SendOutcome.RETRY,
        now=now,
        error=error,
        attempt_values={"retry_at": retry_at},
        status=SmsStatus.QUEUED.value,
        next_attempt_at=retry_at,
        last_error=error[:500],
    )


def record_final(
    session: Session,
    claimed: ClaimedSms,
    *,
    status: SmsStatus,
    outcome: SendOutcome,
    error: str,
    now: datetime,
) -> bool:
    return _record(
        session,
        claimed,
        outcome=outcome,
        now=now,
        error=error,
        status=status.value,
        body_ciphertext=None,
        last_error=error[:500],
        event=(EventKind.UNDELIVERED, f"{status.value}: {error}"),
    )


def release(session: Session, claimed: ClaimedSms, *, reason: str, now: datetime) -> bool:
    """Give a claimed message back at once (graceful shutdown) instead of waiting for expiry."""
    return _record(
        session,
        claimed,
        outcome=SendOutcome.RELEASED,
        now=now,
        error=reason,
        status=SmsStatus.QUEUED.value,
        next_attempt_at=now,
    )
