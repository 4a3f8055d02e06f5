"""Provider status callbacks: authenticating them and applying them to the outbox, idempotently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from declaration_otp import audit
from declaration_otp.audit import Event, EventKind
from declaration_otp.sms.outbox import SmsStatus
from declaration_otp.tables import SmsMessage

# Twilio MessageStatus → our delivery status. Statuses that say "still on its way" change nothing.
PROVIDER_STATUSES: Mapping[str, SmsStatus | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": SmsStatus.SENT,
    "delivered": SmsStatus.DELIVERED,
    "read": SmsStatus.DELIVERED,
    "undelivered": SmsStatus.UNDELIVERED,
    "failed": SmsStatus.FAILED,
    "canceled": SmsStatus.FAILED,
}

# Callbacks arrive late, twice or out of order: a status only ever moves up this ladder.
_RANK = {
    SmsStatus.QUEUED: 0,
    SmsStatus.SENDING: 0,
    SmsStatus.SENT: 1,
    SmsStatus.UNDELIVERED: 2,
    SmsStatus.FAILED: 2,
    SmsStatus.DELIVERED: 3,
}

# The audit event of each status a report can move a message to.
_EVENTS = {
    SmsStatus.SENT: EventKind.SENT,
    SmsStatus.DELIVERED: EventKind.DELIVERED,
    SmsStatus.UNDELIVERED: EventKind.UNDELIVERED,
    SmsStatus.FAILED: EventKind.UNDELIVERED,
}


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each sorted key and value."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(url: str, params: Mapping[str, str], auth_token: str, given: str) -> bool:
    return hmac.compare_digest(twilio_signature(url, params, auth_token), given)


def secret_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True, slots=True)
class StatusReport:
    gateway: str
    provider_message_id: str
    provider_status: str
    message_id: uuid.UUID | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    message_id: uuid.UUID
    status: SmsStatus
    changed: bool


def apply_report(session: Session, report: StatusReport, *, now: datetime) -> Applied | None:
    """Record a provider's status for one of our messages; None if the message is not ours."""
    query = select(SmsMessage).with_for_update()
    if report.message_id is not None:
        query = query.where(col(SmsMessage.id) == report.message_id)
    else:
        query = query.where(
            col(SmsMessage.gateway) == report.gateway,
            col(SmsMessage.provider_message_id) == report.provider_message_id,
        )
    message = session.exec(query).first()
    if message is None:
        return None
    if message.provider_message_id not in (None, report.provider_message_id):
        return None  # our id, but another provider message: not this message's report
    current = SmsStatus(message.status)
    target = PROVIDER_STATUSES.get(report.provider_status)
    if target is None or current not in _RANK or _RANK[target] <= _RANK[current]:
        return Applied(message.id, current, changed=False)
    values: dict[str, object] = {
        "status": target.value,
        "provider_status": report.provider_status[:40],
        "gateway": message.gateway or report.gateway,
        "provider_message_id": report.provider_message_id,
        "updated_at": now,
        # The provider has it: the text (and its code) is no longer needed.
        "body_ciphertext": None,
        "claimed_until": None,
        "claim_token": None,
    }
    if target is SmsStatus.DELIVERED:
        values["delivered_at"] = now
        values["last_error"] = None
    elif target in (SmsStatus.UNDELIVERED, SmsStatus.FAILED):
        detail = " ".join(filter(None, (report.error_code, report.error_message)))
        values["last_error"] = f"provider: {report.provider_status} {detail}".strip()[:500]
    if message.sent_at is None:
        values["sent_at"] = now
    session.execute(update(SmsMessage).where(col(SmsMessage.id) == message.id).values(**values))
    kind = _EVENTS[target]
    # Status and error code only: a provider's free-text message might quote the number.
    parts = (f"{report.gateway}:", report.provider_status, report.error_code)
    detail = " ".join(filter(None, parts))
    event = Event(kind, message.declaration_request_id, message.verification_id, detail)
    audit.record(session, [event], at=now, request_id=message.request_id)
    return Applied(message.id, target, changed=True)
