"""Housekeeping: retire what has expired and purge what is past its retention.

Run every `HOUSEKEEPING_INTERVAL_SECONDS` inside `serve` (a task of the app's lifespan) and once by
`declaration-otp housekeeping`. Any number of processes may run it at once: every step is a
conditional statement on rows picked with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one
writer), so a row is handled by one of them and handling it twice changes nothing. Each batch of
`HOUSEKEEPING_BATCH_SIZE` rows is its own short transaction, so a large purge never holds locks
for long, and its audit events are written in that same transaction.

Order matters for the foreign keys `sms_attempts → sms_messages → verifications`: children are
deleted before their parents, in one transaction. Audit rows (`otp_events`) have no foreign keys
and their own retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, update
from sqlmodel import Session, col, select

from declaration_otp import audit
from declaration_otp.audit import Event, EventKind
from declaration_otp.codes import cancel_active_codes
from declaration_otp.database import DatabaseUnavailable
from declaration_otp.declaration_store import PENDING_STATUSES
from declaration_otp.otp_rules import VerificationStatus
from declaration_otp.runtime import Services
from declaration_otp.sms.outbox import SmsStatus
from declaration_otp.tables import (
    DeclarationRequest,
    OtpEvent,
    SmsAttempt,
    SmsMessage,
    Verification,
)

logger = logging.getLogger(__name__)

ACTOR_NAME = "housekeeping"  # `updated_by` of the requests it expires
# Messages the relay may still work on: never purged, their verification neither.
_OPEN_SMS = (SmsStatus.QUEUED.value, SmsStatus.SENDING.value)


def _ids(session: Session, query: Any) -> list[Any]:
    """The ids a batch works on, locked; rows another process holds are skipped, not awaited."""
    return list(session.exec(query.with_for_update(skip_locked=True)).all())


def expire_codes(session: Session, *, now: datetime, batch_size: int) -> int:
    """Active codes past their lifetime → EXPIRED, inactive; one `expired` event each."""
    ids = _ids(
        session,
        select(Verification.id)
        .where(col(Verification.active).is_(True), col(Verification.code_expired_at) <= now)
        .limit(batch_size),
    )
    if not ids:
        return 0
    rows = session.execute(
        update(Verification)
        .where(col(Verification.id).in_(ids), col(Verification.active).is_(True))
        .values(active=False, status=VerificationStatus.EXPIRED.value, updated_at=now)
        .returning(col(Verification.id), col(Verification.declaration_request_id))
    ).all()
    events = [Event(EventKind.EXPIRED, row[1], row[0], "code lifetime passed") for row in rows]
    audit.record(session, events, at=now)
    return len(rows)


def expire_requests(session: Session, *, services: Services, now: datetime, batch_size: int) -> int:
    """NEW/APPROVED requests older than DECLARATION_REQUEST_TTL_DAYS → EXPIRED; codes cancelled."""
    cutoff = now - timedelta(days=services.settings.declaration_request_ttl_days)
    ids = _ids(
        session,
        select(DeclarationRequest.id)
        .where(
            col(DeclarationRequest.status).in_(PENDING_STATUSES),
            col(DeclarationRequest.inserted_at) < cutoff,
        )
        .limit(batch_size),
    )
    if not ids:
        return 0
    expired = (
        session.execute(
            update(DeclarationRequest)
            .where(
                col(DeclarationRequest.id).in_(ids),
                col(DeclarationRequest.status).in_(PENDING_STATUSES),
            )
            .values(
                status="EXPIRED",
                status_reason="expired",
                updated_by=ACTOR_NAME,
                updated_at=now,
            )
            .returning(col(DeclarationRequest.id))
        )
        .scalars()
        .all()
    )
    days = services.settings.declaration_request_ttl_days
    for request_id in expired:
        audit.record(
            session,
            [Event(EventKind.REQUEST_EXPIRED, request_id, None, f"pending for over {days} day(s)")],
            at=now,
        )
        cancel_active_codes(
            session,
            services=services,
            declaration_request_id=request_id,
            reason="declaration request expired",
        )
    return len(expired)


def wipe_sms_bodies(session: Session, *, now: datetime, batch_size: int) -> int:
    """No SMS text (it holds a code) outlives its use: wipe those of messages in a final state and
    of queued ones whose code has expired (the relay then settles them as expired, unsent)."""
    ids = _ids(
        session,
        select(SmsMessage.id)
        .where(
            col(SmsMessage.body_ciphertext).is_not(None),
            or_(
                col(SmsMessage.status).not_in(_OPEN_SMS),
                and_(
                    col(SmsMessage.status) == SmsStatus.QUEUED.value,
                    col(SmsMessage.expires_at) <= now,
                ),
            ),
        )
        .limit(batch_size),
    )
    if not ids:
        return 0
    wiped = session.execute(
        update(SmsMessage)
        .where(col(SmsMessage.id).in_(ids), col(SmsMessage.status) != SmsStatus.SENDING.value)
        .values(body_ciphertext=None)
    )
    return _count(wiped)


def _count(result: Any) -> int:
    return int(result.rowcount)


def _delete_messages(session: Session, message_ids: list[uuid.UUID]) -> int:
    session.execute(delete(SmsAttempt).where(col(SmsAttempt.message_id).in_(message_ids)))
    return _count(session.execute(delete(SmsMessage).where(col(SmsMessage.id).in_(message_ids))))


def purge_sms(session: Session, *, cutoff: datetime, batch_size: int) -> int:
    """Settled messages older than RETENTION_SMS_DAYS, with their attempts."""
    ids = _ids(
        session,
        select(SmsMessage.id)
        .where(col(SmsMessage.inserted_at) < cutoff, col(SmsMessage.status).not_in(_OPEN_SMS))
        .limit(batch_size),
    )
    return _delete_messages(session, ids) if ids else 0


def purge_verifications(session: Session, *, cutoff: datetime, batch_size: int) -> int:
    """Inactive verifications older than RETENTION_VERIFICATIONS_DAYS, with their messages."""
    open_message = exists().where(
        col(SmsMessage.verification_id) == col(Verification.id),
        col(SmsMessage.status).in_(_OPEN_SMS),
    )
    ids = _ids(
        session,
        select(Verification.id)
        .where(
            col(Verification.inserted_at) < cutoff,
            col(Verification.active).is_(False),
            ~open_message,
        )
        .limit(batch_size),
    )
    if not ids:
        return 0
    message_ids = list(
        session.exec(select(SmsMessage.id).where(col(SmsMessage.verification_id).in_(ids))).all()
    )
    if message_ids:
        _delete_messages(session, message_ids)
    return _count(session.execute(delete(Verification).where(col(Verification.id).in_(ids))))


def purge_events(session: Session, *, cutoff: datetime, batch_size: int) -> int:
    """Audit rows older than RETENTION_AUDIT_DAYS: the only way an event ever leaves the trail."""
    ids = _ids(
        session, select(OtpEvent.id).where(col(OtpEvent.occurred_at) < cutoff).limit(batch_size)
    )
    if not ids:
        return 0
    return _count(session.execute(delete(OtpEvent).where(col(OtpEvent.id).in_(ids))))


@dataclass(slots=True)
class HousekeepingReport:
    codes_expired: int = 0
    requests_expired: int = 0
    sms_bodies_wiped: int = 0
    sms_purged: int = 0
    verifications_purged: int = 0
    events_purged: int = 0
    transactions: int = 0

    @property
    def changed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "transactions")

    def lines(self) -> list[str]:
        return [f"{f.name.replace('_', ' ')}: {getattr(self, f.name)}" for f in fields(self)]


Step = Callable[[Session], int]


async def _in_batches(services: Services, step: Step, report: HousekeepingReport) -> int:
    """Run `step` one transaction at a time until a batch comes back short."""
    total = 0
    while True:
        handled = await services.database.write(step)
        report.transactions += 1
        total += handled
        if handled < services.settings.housekeeping_batch_size:
            return total


async def run_once(services: Services) -> HousekeepingReport:
    """One full pass: expiries first (they end what retention then purges), bodies, purges."""
    settings = services.settings
    size = settings.housekeeping_batch_size
    now = services.clock()
    report = HousekeepingReport()

    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    report.codes_expired = await _in_batches(
        services, lambda s: expire_codes(s, now=now, batch_size=size), report
    )
    report.requests_expired = await _in_batches(
        services,
        lambda s: expire_requests(s, services=services, now=now, batch_size=size),
        report,
    )
    report.sms_bodies_wiped = await _in_batches(
        services, lambda s: wipe_sms_bodies(s, now=now, batch_size=size), report
    )
    sms_cutoff = days_ago(settings.retention_sms_days)
    report.sms_purged = await _in_batches(
        services, lambda s: purge_sms(s, cutoff=sms_cutoff, batch_size=size), report
    )
    verification_cutoff = days_ago(settings.retention_verifications_days)
    report.verifications_purged = await _in_batches(
        services,
        lambda s: purge_verifications(s, cutoff=verification_cutoff, batch_size=size),
        report,
    )
    audit_cutoff = days_ago(settings.retention_audit_days)
    report.events_purged = await _in_batches(
        services, lambda s: purge_events(s, cutoff=audit_cutoff, batch_size=size), report
    )
    return report


async def run_periodically(services: Services, stop: asyncio.Event) -> None:
    """The lifespan task: a pass at start, then one per interval (jittered, so that processes
    started together spread out) until `stop` is set."""
    interval = services.settings.housekeeping_interval_seconds
    while not stop.is_set():
        try:
            report = await run_once(services)
            if report.changed:
                logger.info("housekeeping: %s", "; ".join(report.lines()))
        except DatabaseUnavailable as error:
            logger.warning("housekeeping: database unavailable: %s", error)
        except Exception:
            logger.exception("housekeeping: unexpected error; trying again next interval")
        pause = interval * random.uniform(0.9, 1.1)  # noqa: S311 - scheduling jitter, not a secret
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
