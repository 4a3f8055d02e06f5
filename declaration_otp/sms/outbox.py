"""Outbox rows: queued with their verification, claimed and settled by the relay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from declaration_otp.tables import SmsMessage


class SmsStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELED = "canceled"


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


def cancel_queued_for(
    session: Session, *, verification_ids: list[uuid.UUID], now: datetime
) -> None:
    """A replaced code must not reach the phone after its successor: drop it if still queued."""
    if not verification_ids:
        return
    session.execute(
        update(SmsMessage)
        .where(
            col(SmsMessage.verification_id).in_(verification_ids),
            col(SmsMessage.status) == SmsStatus.QUEUED.value,
        )
        .values(status=SmsStatus.CANCELED.value, body_ciphertext=None, updated_at=now)
    )


def claim_due(
    session: Session, *, now: datetime, limit: int, claim_seconds: int
) -> list[ClaimedSms]:
    """Take due messages (and ones whose claimer died) for `claim_seconds`.

    Rows locked by another relay are skipped on PostgreSQL; SQLite has a single writer.
    """
    due = or_(
        and_(
            col(SmsMessage.status) == SmsStatus.QUEUED.value,
            col(SmsMessage.next_attempt_at) <= now,
        ),
        and_(
            col(SmsMessage.status) == SmsStatus.SENDING.value,
            col(SmsMessage.claimed_until) < now,
        ),
    )
    rows = session.exec(
        select(SmsMessage)
        .where(due)
        .order_by(col(SmsMessage.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed_until = now + timedelta(seconds=claim_seconds)
    claimed: list[ClaimedSms] = []
    for row in rows:
        row.status = SmsStatus.SENDING.value
        row.claimed_until = claimed_until
        row.attempts += 1
        row.updated_at = now
        claimed.append(
            ClaimedSms(
                id=row.id,
                verification_id=row.verification_id,
                declaration_request_id=row.declaration_request_id,
                phone_number=row.phone_number,
                body_ciphertext=row.body_ciphertext,
                attempts=row.attempts,
                expires_at=row.expires_at,
                request_id=row.request_id,
            )
        )
    return claimed


def _settle(session: Session, *, message_id: uuid.UUID, now: datetime, **values: object) -> None:
    session.execute(
        update(SmsMessage)
        .where(
            col(SmsMessage.id) == message_id,
            col(SmsMessage.status) == SmsStatus.SENDING.value,
        )
        .values(claimed_until=None, updated_at=now, **values)
    )


def mark_sent(
    session: Session, *, message_id: uuid.UUID, provider_message_id: str | None, now: datetime
) -> None:
    # The text holds the code: once delivered to the gateway it is not kept.
    _settle(
        session,
        message_id=message_id,
        now=now,
        status=SmsStatus.SENT.value,
        provider_message_id=provider_message_id,
        body_ciphertext=None,
        sent_at=now,
        last_error=None,
    )


def mark_retry(
    session: Session, *, message_id: uuid.UUID, error: str, retry_at: datetime, now: datetime
) -> None:
    _settle(
        session,
        message_id=message_id,
        now=now,
        status=SmsStatus.QUEUED.value,
        next_attempt_at=retry_at,
        last_error=error[:500],
    )


def mark_final(
    session: Session, *, message_id: uuid.UUID, status: SmsStatus, error: str, now: datetime
) -> None:
    _settle(
        session,
        message_id=message_id,
        now=now,
        status=status.value,
        body_ciphertext=None,
        last_error=error[:500],
    )
