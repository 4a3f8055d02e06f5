"""Issuing and checking one-time codes inside the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

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
from declaration_otp.runtime import Services
from declaration_otp.sms.outbox import SmsStatus, cancel_queued_for
from declaration_otp.tables import PhoneSendState, SmsMessage, Verification, VerifiedPhone


@dataclass(frozen=True, slots=True)
class IssuedCode:
    verification: Verification
    sms_id: uuid.UUID


def _lock_phone(session: Session, *, phone_number: str, services: Services) -> None:
    """Create-if-missing then lock the phone's row: concurrent sends to one phone queue here."""
    now = services.clock()
    values = {"phone_number": phone_number, "last_sent_at": now}
    insert = sqlite_insert if services.database.is_sqlite else pg_insert
    session.execute(insert(PhoneSendState).values(**values).on_conflict_do_nothing())
    session.exec(
        select(PhoneSendState).where(PhoneSendState.phone_number == phone_number).with_for_update()
    ).one()


def cancel_active_codes(
    session: Session,
    *,
    services: Services,
    phone_number: str | None = None,
    declaration_request_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Deactivate the active codes of a phone and/or a request; their unsent SMS are dropped."""
    conditions = []
    if phone_number is not None:
        conditions.append(col(Verification.phone_number) == phone_number)
    if declaration_request_id is not None:
        conditions.append(col(Verification.declaration_request_id) == declaration_request_id)
    if not conditions:
        return []
    now = services.clock()
    cancelled = (
        session.execute(
            update(Verification)
            .where(col(Verification.active).is_(True), or_(*conditions))
            .values(active=False, status=VerificationStatus.CANCELED.value, updated_at=now)
            .returning(col(Verification.id))
        )
        .scalars()
        .all()
    )
    cancel_queued_for(session, verification_ids=list(cancelled), now=now)
    return list(cancelled)


def issue_code(
    session: Session,
    *,
    services: Services,
    phone_number: str,
    declaration_request_id: uuid.UUID | None,
    request_id: str | None,
) -> IssuedCode | LimitDecision:
    """Check the phone's send limits, replace its active code and queue exactly one SMS.

    Returns the limit decision instead when sending now is not allowed; nothing is written then.
    """
    settings = services.settings
    _lock_phone(session, phone_number=phone_number, services=services)
    now = services.clock()
    horizon = now - timedelta(
        seconds=longest_window_seconds(settings.otp_resend_cooldown_seconds, settings.send_limits)
    )
    sent_times = session.exec(
        select(Verification.inserted_at).where(
            Verification.phone_number == phone_number, Verification.inserted_at > horizon
        )
    ).all()
    decision = check_send_limits(
        now=now,
        sent_times=sent_times,
        cooldown_seconds=settings.otp_resend_cooldown_seconds,
        limits=settings.send_limits,
    )
    if not decision.allowed:
        return decision

    cancel_active_codes(
        session,
        services=services,
        phone_number=phone_number,
        declaration_request_id=declaration_request_id,
    )
    code = generate_code(settings.otp_code_length)
    verification_id = uuid.uuid4()
    expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    verification = Verification(
        id=verification_id,
        declaration_request_id=declaration_request_id,
        phone_number=phone_number,
        code_hash=services.secrets.code_hash(verification_id, code),
        status=VerificationStatus.NEW.value,
        active=True,
        attempts_count=0,
        code_expired_at=expires_at,
        inserted_at=now,
        updated_at=now,
    )
    sms_id = uuid.uuid4()
    text = settings.sms_text.format(code=code)
    session.add(verification)
    # No ORM relationships, so the unit of work would not order these inserts by foreign key.
    session.flush()
    session.add(
        SmsMessage(
            id=sms_id,
            verification_id=verification_id,
            declaration_request_id=declaration_request_id,
            phone_number=phone_number,
            body_ciphertext=services.secrets.seal_sms(sms_id, text),
            status=SmsStatus.QUEUED.value,
            next_attempt_at=now,
            expires_at=expires_at,
            request_id=request_id,
            inserted_at=now,
            updated_at=now,
        )
    )
    session.execute(
        update(PhoneSendState)
        .where(col(PhoneSendState.phone_number) == phone_number)
        .values(last_sent_at=now)
    )
    session.flush()
    return IssuedCode(verification=verification, sms_id=sms_id)


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
    session: Session, *, services: Services, verification: Verification, code: str
) -> AttemptResult:
    """Count one attempt against `verification` (locked by the caller) and record its effect."""
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
