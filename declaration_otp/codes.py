"""Issuing and checking one-time codes inside the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, literal_column, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from declaration_otp import audit, metrics
from declaration_otp.audit import Actor, Event, EventKind
from declaration_otp.chained_inserts import ChainedInserts
from declaration_otp.otp_rules import (
    AttemptOutcome,
    AttemptResult,
    LimitDecision,
    VerificationStatus,
    check_send_limits,
    generate_code,
    judge_attempt,
    longest_window_seconds,
)
from declaration_otp.phone import mask_phone
from declaration_otp.prepared import Prepared
from declaration_otp.randomness import time_ordered_uuid
from declaration_otp.runtime import Services
from declaration_otp.sms.outbox import (
    BirthClaim,
    ClaimedSms,
    cancel_queued_for,
    drop_queued,
    outbox_rows,
)
from declaration_otp.sqlite_code_issues import insert_code_issue
from declaration_otp.tables import (
    OtpEvent,
    PhoneSendState,
    SmsAttempt,
    SmsMessage,
    Verification,
    VerifiedPhone,
)


@dataclass(frozen=True, slots=True)
class CodeDraft:
    """A new code's parts that do not depend on the database: its ids, the code's HMAC and the
    sealed SMS text. Made before the unit of work, so that none of it is computed while the
    transaction (on SQLite, the database's one write lock) is held. The code itself is not kept.
    `claim`: the in-process relay's claim on the SMS, when it can send it at once (see
    sms/dispatch.py)."""

    verification_id: uuid.UUID
    sms_id: uuid.UUID
    code_hash: str
    body_ciphertext: bytes
    claim: BirthClaim | None = None


def draft_code(services: Services, *, claim: BirthClaim | None = None) -> CodeDraft:
    settings = services.settings
    code = generate_code(settings.otp_code_length)
    verification_id, sms_id = time_ordered_uuid(), time_ordered_uuid()
    return CodeDraft(
        verification_id=verification_id,
        sms_id=sms_id,
        code_hash=services.secrets.code_hash(verification_id, code),
        body_ciphertext=services.secrets.seal_sms(sms_id, settings.sms_text.format(code=code)),
        claim=claim,
    )


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code written by `issue_code`, as a value (no ORM object is built under the write
    lock for it). Read by `presenters.verification_data` like a `Verification` row."""

    id: uuid.UUID
    code_expired_at: datetime
    sms_id: uuid.UUID
    # For the metrics counted once the transaction has committed (see sms/dispatch.py).
    for_declaration_request: bool
    # The SMS as claimed in this transaction by the draft's claim; None when queued.
    claimed_sms: ClaimedSms | None = None

    # A new code is always the phone's one active code.
    @property
    def status(self) -> str:
        return VerificationStatus.NEW.value

    @property
    def active(self) -> bool:
        return True


def _lock_phone(session: Session, *, phone_number: str, services: Services) -> None:
    """Stamp the phone's row, creating it if missing: on PostgreSQL this is its lock, and
    concurrent sends to one phone queue here until this transaction ends. An upsert that
    updates locks the row as `SELECT … FOR UPDATE` would, and a concurrent insert of a phone
    not seen before waits on the primary key, then updates; one statement, whose answer is not
    read (pipelined), instead of an insert, a locking read and a later update. A 429 rolls the
    stamp back with the rest.

    SQLite needs no lock: every write transaction holds the database's one write lock from
    `BEGIN IMMEDIATE` on, so no other send to any phone runs until this one commits. Nothing
    reads the row there (the limits count the phone's codes), so SQLite keeps none: a statement
    fewer under that lock for every code issued."""
    if services.database.is_sqlite:
        return
    _PHONE_STAMP_PG.run(session, {"phone_number": phone_number, "last_sent_at": services.clock()})


# The tables behind the models, for Core statements on the hot path.
_VERIFICATIONS: Table = Verification.__table__  # type: ignore[attr-defined]
_PHONE_SEND_STATES: Table = PhoneSendState.__table__  # type: ignore[attr-defined]
_SMS_MESSAGES: Table = SmsMessage.__table__  # type: ignore[attr-defined]
_SMS_ATTEMPTS: Table = SmsAttempt.__table__  # type: ignore[attr-defined]
_OTP_EVENTS: Table = OtpEvent.__table__  # type: ignore[attr-defined]


_V = _VERIFICATIONS.c
# The hot path's statements: Core on the tables (no ORM objects to load, track, flush or
# synchronise), compiled once per dialect and run on the driver's cursor (see prepared.py).
_PHONE_STAMP_PG = Prepared(
    pg_insert(_PHONE_SEND_STATES).on_conflict_do_update(
        index_elements=[_PHONE_SEND_STATES.c.phone_number],
        set_={"last_sent_at": pg_insert(_PHONE_SEND_STATES).excluded.last_sent_at},
    )
)
_SENT_TIMES = Prepared(
    sa_select(_V.inserted_at).where(
        _V.phone_number == bindparam("phone"), _V.inserted_at > bindparam("horizon")
    )
)
# PostgreSQL: a new code's rows as one statement (see chained_inserts.py), its SMS queued for any
# relay or claimed at birth by the worker's own.
_ISSUE_PG_QUEUED = ChainedInserts(_VERIFICATIONS, _SMS_MESSAGES, _OTP_EVENTS)
_ISSUE_PG_CLAIMED = ChainedInserts(_VERIFICATIONS, _SMS_MESSAGES, _SMS_ATTEMPTS, _OTP_EVENTS)


# Spelled exactly as the partial unique indexes' predicate (`WHERE active`), inside each OR
# branch: only then do SQLite and PostgreSQL search those small indexes. `active IS true`
# (SQLAlchemy's `.is_(True)`) made PostgreSQL scan the whole table on every resend.
_ACTIVE: ColumnElement[Any] = literal_column("verifications.active")


def _cancel_update(*, by_phone: bool, by_request: bool) -> Any:
    conditions = []
    if by_phone:
        conditions.append(and_(_ACTIVE, _V.phone_number == bindparam("phone")))
    if by_request:
        conditions.append(and_(_ACTIVE, _V.declaration_request_id == bindparam("request")))
    return (
        update(_VERIFICATIONS)
        .where(or_(*conditions))
        .values(active=False, status=VerificationStatus.CANCELED.value, updated_at=bindparam("at"))
        .returning(_V.id, _V.declaration_request_id)
    )


def _cancel_in_one_statement(*, by_phone: bool, by_request: bool) -> Prepared:
    """PostgreSQL: the cancel, its codes' queued SMS dropped and their `cancelled` events, as
    one statement whose rows are not read (data-modifying WITH: the UPDATE's RETURNING feeds
    the other two). In a pipelined unit it is queued with the writes after it, where reading
    the cancel's rows to follow them up (SQLite's way, below) costs a round trip."""
    cancelled = _cancel_update(by_phone=by_phone, by_request=by_request).cte("cancelled")
    dropped = drop_queued(sa_select(cancelled.c.id)).cte("dropped")
    events = audit.insert_events_from(
        EventKind.CANCELLED,
        declaration_request_id=cancelled.c.declaration_request_id,
        verification_id=cancelled.c.id,
    )
    return Prepared(events.add_cte(dropped))


_REPLACED = "replaced by a new code"
_CANCEL_WAYS = ((True, False), (False, True), (True, True))
_CANCEL = {
    way: Prepared(_cancel_update(by_phone=way[0], by_request=way[1])) for way in _CANCEL_WAYS
}
_CANCEL_PG = {
    way: _cancel_in_one_statement(by_phone=way[0], by_request=way[1]) for way in _CANCEL_WAYS
}


def cancel_active_codes(
    session: Session,
    *,
    services: Services,
    phone_number: str | None = None,
    declaration_request_id: uuid.UUID | None = None,
    reason: str = _REPLACED,
    actor: Actor | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Deactivate the active codes of a phone and/or a request; their unsent SMS are dropped.

    Each cancelled code gets a `cancelled` audit event with `reason`, at `now` (default: the
    clock), so that a replacement recorded at the same moment sorts after it.
    """
    if phone_number is None and declaration_request_id is None:
        return
    now = now or services.clock()
    way = (phone_number is not None, declaration_request_id is not None)
    params: dict[str, Any] = {"at": now}
    if phone_number is not None:
        params["phone"] = phone_number
    if declaration_request_id is not None:
        params["request"] = declaration_request_id
    if not services.database.is_sqlite:
        events = audit.events_from_params(at=now, actor=actor, request_id=request_id, detail=reason)
        _CANCEL_PG[way].run(session, params | events)
        return
    # SQLite has no data-modifying WITH: the cancel's rows are read and followed up one by one.
    rows = _CANCEL[way].rows(session, params)
    cancel_queued_for(session, verification_ids=[row[0] for row in rows], now=now)
    audit.record(
        session,
        [Event(EventKind.CANCELLED, row[1], row[0], reason) for row in rows],
        at=now,
        actor=actor,
        request_id=request_id,
    )


def issue_code(
    session: Session,
    *,
    services: Services,
    phone_number: str,
    declaration_request_id: uuid.UUID | None,
    request_id: str | None,
    draft: CodeDraft,
    actor: Actor | None = None,
    event: EventKind = EventKind.ISSUED,
) -> IssuedCode | LimitDecision:
    """Check the phone's send limits, replace its active code with `draft` and queue exactly
    one SMS.

    Returns the limit decision instead when sending now is not allowed; nothing is written then
    (the caller answers 429 and records it: see `audit.record_rate_limited`). Otherwise the
    `event` (issued or resent) is recorded with the code.
    """
    settings = services.settings
    _lock_phone(session, phone_number=phone_number, services=services)
    now = services.clock()
    horizon = now - timedelta(
        seconds=longest_window_seconds(settings.otp_resend_cooldown_seconds, settings.send_limits)
    )
    sent_times = [
        row.inserted_at
        for row in _SENT_TIMES.rows(session, {"phone": phone_number, "horizon": horizon})
    ]
    decision = check_send_limits(
        now=now,
        sent_times=sent_times,
        cooldown_seconds=settings.otp_resend_cooldown_seconds,
        limits=settings.send_limits,
    )
    if not decision.allowed:
        metrics.RATE_LIMITED.labels(limit=decision.limit).inc()
        return decision

    verification_id, sms_id = draft.verification_id, draft.sms_id
    expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    code = {
        "id": verification_id,
        "declaration_request_id": declaration_request_id,
        "phone_number": phone_number,
        "code_hash": draft.code_hash,
        "status": VerificationStatus.NEW.value,
        "active": True,
        "attempts_count": 0,
        "code_expired_at": expires_at,
        "inserted_at": now,
        "updated_at": now,
    }
    outbox = outbox_rows(
        sms_id=sms_id,
        verification_id=verification_id,
        declaration_request_id=declaration_request_id,
        phone_number=phone_number,
        body_ciphertext=draft.body_ciphertext,
        expires_at=expires_at,
        request_id=request_id,
        now=now,
        claim=draft.claim,
    )
    # Never the code: for a phone-only code the masked phone says whose it was.
    detail = f"SMS to {mask_phone(phone_number)}, valid {settings.otp_ttl_seconds} s"
    event_row = audit.event_row(
        Event(event, declaration_request_id, verification_id, detail),
        at=now,
        actor=actor,
        request_id=request_id,
    )
    if services.database.is_sqlite:
        # The replacement and every new row in one statement (see sqlite_code_issues.py).
        insert_code_issue(
            session,
            code=code,
            message=outbox.message,
            attempt=outbox.attempt,
            event=event_row,
            replaced_at=now,
            replaced_detail=_REPLACED,
        )
    else:
        cancel_active_codes(
            session,
            services=services,
            phone_number=phone_number,
            declaration_request_id=declaration_request_id,
            actor=actor,
            request_id=request_id,
            now=now,
        )
        if outbox.attempt is None:
            _ISSUE_PG_QUEUED.run(session, [code, outbox.message, event_row])
        else:
            _ISSUE_PG_CLAIMED.run(session, [code, outbox.message, outbox.attempt, event_row])
    return IssuedCode(
        id=verification_id,
        code_expired_at=expires_at,
        sms_id=sms_id,
        for_declaration_request=declaration_request_id is not None,
        claimed_sms=outbox.claimed,
    )


def latest_verification(
    session: Session, *, declaration_request_id: uuid.UUID, lock: bool
) -> Verification | None:
    query = (
        select(Verification)
        .where(Verification.declaration_request_id == declaration_request_id)
        .order_by(col(Verification.inserted_at).desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def attempt_code(
    session: Session,
    *,
    services: Services,
    verification: Verification,
    code: str,
    actor: Actor | None = None,
    request_id: str | None = None,
) -> AttemptResult:
    """Count one attempt against `verification` (locked by the caller) and record its effect,
    audit event (verified or failed_attempt) included."""
    now = services.clock()
    result = judge_attempt(
        now=now,
        active=verification.active,
        status=VerificationStatus(verification.status),
        attempts_count=verification.attempts_count,
        max_attempts=services.settings.otp_max_attempts,
        code_expired_at=verification.code_expired_at,
        code_matches=services.secrets.code_matches(verification.id, code, verification.code_hash),
    )
    metrics.code_check(result.outcome.value)
    audit.record(
        session,
        [_attempt_event(verification, result, services.settings.otp_max_attempts)],
        at=now,
        actor=actor,
        request_id=request_id,
    )
    if result.attempts_count == verification.attempts_count:
        return result
    # Conditional on the count we read: two racing attempts can never both be counted as one.
    updated = session.execute(
        update(Verification)
        .where(
            col(Verification.id) == verification.id,
            col(Verification.attempts_count) == verification.attempts_count,
            col(Verification.active).is_(True),
        )
        .values(
            attempts_count=result.attempts_count,
            status=result.status.value,
            active=result.active,
            updated_at=now,
        )
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError("verification changed under a held lock")
    if result.outcome is AttemptOutcome.VERIFIED:
        _record_verified_phone(session, phone_number=verification.phone_number, services=services)
    return result


def _attempt_event(verification: Verification, result: AttemptResult, max_attempts: int) -> Event:
    counted = result.attempts_count != verification.attempts_count
    tally = f"attempt {result.attempts_count} of {max_attempts}" if counted else "not counted"
    if result.outcome is AttemptOutcome.VERIFIED:
        kind, detail = EventKind.VERIFIED, tally
    else:
        kind, detail = EventKind.FAILED_ATTEMPT, f"{result.outcome.value} ({tally})"
    return Event(kind, verification.declaration_request_id, verification.id, detail)


def _record_verified_phone(session: Session, *, phone_number: str, services: Services) -> None:
    """The upstream `verified_phones` registry: phones that ever completed a verification."""
    now = services.clock()
    insert = sqlite_insert if services.database.is_sqlite else pg_insert
    statement = insert(VerifiedPhone).values(
        phone_number=phone_number, verified_at=now, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[VerifiedPhone.phone_number], set_={"updated_at": now}
        )
    )


def latest_phone_verification(
    session: Session, *, phone_number: str, lock: bool
) -> Verification | None:
    """The latest code sent to `phone_number` by the OTP verification API (not by a declaration
    request: those are approved only through their request)."""
    query = (
        select(Verification)
        .where(
            Verification.phone_number == phone_number,
            col(Verification.declaration_request_id).is_(None),
        )
        .order_by(col(Verification.inserted_at).desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()
