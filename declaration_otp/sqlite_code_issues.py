"""SQLite: a new code's rows, and the replacement of the codes before it, as one statement.

Under SQLite's one write lock each statement is a call into the driver that hands the GIL to the
event loop around SQLite's work and waits to take it back; at saturation the lock's holder was
on a core less than half of the time it held the lock (docs/performance.md). A resend's writes
were six such calls. They are now one: an insert into the `code_issues` view (migration 0005),
whose INSTEAD OF trigger writes, in this order, the replaced codes' `cancelled` events, drops
their still-queued SMS, deactivates them, and inserts the new code, its SMS, its first send
attempt (when the relay claimed it at birth) and its own event. A statement is atomic: a row
the database refuses undoes the others.

The rows are given as the code paths build them (column → value); the view's columns are those
names prefixed by the row's part. Bind types are the tables' own, so values are converted
exactly as an insert into the table would convert them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Column, MetaData, String, Table, insert
from sqlmodel import Session

from declaration_otp.audit import EventKind
from declaration_otp.otp_rules import VerificationStatus
from declaration_otp.prepared import Prepared
from declaration_otp.sms.outbox import SmsStatus
from declaration_otp.tables import OtpEvent, SmsAttempt, SmsMessage, Verification

_VERIFICATIONS: Table = Verification.__table__  # type: ignore[attr-defined]
_SMS_MESSAGES: Table = SmsMessage.__table__  # type: ignore[attr-defined]
_SMS_ATTEMPTS: Table = SmsAttempt.__table__  # type: ignore[attr-defined]
_OTP_EVENTS: Table = OtpEvent.__table__  # type: ignore[attr-defined]

_PARTS: Final = (
    ("code", _VERIFICATIONS),
    ("sms", _SMS_MESSAGES),
    ("attempt", _SMS_ATTEMPTS),
    ("event", _OTP_EVENTS),
)
# The view as SQLAlchemy sees it, in a metadata of its own: not a table to create or compare.
VIEW: Final = Table(
    "code_issues",
    MetaData(),
    *(Column(f"{part}_{column.name}", column.type) for part, table in _PARTS for column in table.c),
    Column("replaced_at", _VERIFICATIONS.c.updated_at.type),
    *(
        Column(f"replaced_{name}", String())
        for name in ("status", "sms_status", "sms_queued_status", "event", "detail")
    ),
)
_INSERT = Prepared(insert(VIEW))
# An SMS not claimed at birth has no attempt: the same statement, the attempt's values NULL.
_NO_ATTEMPT: Final = {f"attempt_{column.name}": None for column in _SMS_ATTEMPTS.c}


def insert_code_issue(
    session: Session,
    *,
    code: Mapping[str, Any],
    message: Mapping[str, Any],
    attempt: Mapping[str, Any] | None,
    event: Mapping[str, Any],
    replaced_at: datetime,
    replaced_detail: str,
) -> None:
    """Replace the active codes of `code`'s phone and request with `code` (see the module).

    The replaced codes are cancelled and their still-queued SMS dropped, as
    `codes.cancel_active_codes` does; each gets a `cancelled` event with `replaced_detail`, at
    `replaced_at`, with the actor and request id of `event`, written before `event`."""
    params: dict[str, Any] = {f"code_{name}": value for name, value in code.items()}
    params.update((f"sms_{name}", value) for name, value in message.items())
    if attempt is None:
        params.update(_NO_ATTEMPT)
    else:
        params.update((f"attempt_{name}", value) for name, value in attempt.items())
    params.update((f"event_{name}", value) for name, value in event.items())
    params.update(
        replaced_at=replaced_at,
        replaced_status=VerificationStatus.CANCELED.value,
        replaced_sms_status=SmsStatus.CANCELED.value,
        replaced_sms_queued_status=SmsStatus.QUEUED.value,
        replaced_event=EventKind.CANCELLED.value,
        replaced_detail=replaced_detail,
    )
    _INSERT.run(session, params)
