"""Messages the gateway took, recorded together: on SQLite a few statements for a batch of them.

A result recorded alone is three statements on SQLite (`outbox.record_sent`: the attempt closed,
the message settled if this relay's claim still holds, the `sent` event), each a call into the
driver that gives the GIL up around SQLite's work and waits to take it back while holding the
database's one write lock: at saturation three of a resend's eight such calls
(docs/performance.md, twenty-third round). The result writer hands a run of such results, as
data, to `write_sent`, which writes up to sixteen of them with three statements (`_SIZES`): both
updates pick each row's values with a `CASE` on its id, and the events of the messages whose
claim held are one multi-row insert, in the order the results came. PostgreSQL keeps one
statement per result (`record_sent`: one round trip's worth, pipelined).

The rows written are those `record_sent` writes, result by result (tests/test_sent_results.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BindParameter, Table, bindparam, case, update
from sqlmodel import Session

from declaration_otp import audit
from declaration_otp.audit import Event, EventKind
from declaration_otp.prepared import Prepared, dialect_name
from declaration_otp.sms.outbox import (
    ClaimedSms,
    SendOutcome,
    SmsStatus,
    record_sent,
    sent_detail,
)
from declaration_otp.tables import SmsAttempt, SmsMessage

_SMS: Table = SmsMessage.__table__  # type: ignore[attr-defined]
_ATTEMPTS: Table = SmsAttempt.__table__  # type: ignore[attr-defined]

# Statements are built for these sizes only (a batch is cut into them, largest first), so that
# few distinct statements take places in the driver's cache of prepared statements.
_SIZES: Final = (16, 8, 4, 2, 1)


@dataclass(frozen=True, slots=True)
class SentResult:
    """`message` was taken by the gateway, which gave it `provider_message_id`, at `at`."""

    message: ClaimedSms
    provider_message_id: str | None
    at: datetime

    def __call__(self, session: Session) -> bool:
        """Recorded alone; True when the relay's claim on the message still held."""
        return record_sent(
            session, self.message, provider_message_id=self.provider_message_id, now=self.at
        )


def write_sent(session: Session, results: Sequence[SentResult]) -> list[bool]:
    """Record `results` in the caller's unit of work, in order; for each, whether the relay's
    claim on its message still held (only then is the message settled and its event written)."""
    if dialect_name(session) != "sqlite":
        return [result(session) for result in results]
    recorded: list[bool] = []
    for run in _runs_of_distinct_messages(results):
        start = 0
        while start < len(run):
            size = next(size for size in _SIZES if size <= len(run) - start)
            recorded.extend(_write_some(session, run[start : start + size]))
            start += size
    return recorded


def _runs_of_distinct_messages(results: Sequence[SentResult]) -> list[Sequence[SentResult]]:
    """`results` cut, in order, where a message comes again (a late result of a claim that
    expired, beside that of the relay that claimed the message next): one statement picks one
    claim per message, so each of them must be written after the one before."""
    runs: list[Sequence[SentResult]] = []
    start, seen = 0, set[uuid.UUID]()
    for index, result in enumerate(results):
        if result.message.id in seen:
            runs.append(results[start:index])
            start, seen = index, set[uuid.UUID]()
        seen.add(result.message.id)
    runs.append(results[start:])
    return runs


@dataclass(frozen=True, slots=True)
class _Statements:
    close_attempts: Prepared
    settle_messages: Prepared


_STATEMENTS: dict[int, _Statements] = {}


def _statements(size: int) -> _Statements:
    found = _STATEMENTS.get(size)
    if found is None:
        found = _STATEMENTS[size] = _Statements(_close_attempts(size), _settle_messages(size))
    return found


def _each(column: Any, name: str, size: int) -> list[BindParameter[Any]]:
    return [bindparam(f"{name}{index}", type_=column.type) for index in range(size)]


def _by_row(key: Any, keys: list[BindParameter[Any]], values: list[BindParameter[Any]]) -> Any:
    """The value of the row whose `key` is each of `keys`."""
    return case(*((key == keys[index], values[index]) for index in range(len(keys))))


def _close_attempts(size: int) -> Prepared:
    ids = _each(_ATTEMPTS.c.id, "attempt", size)
    return Prepared(
        update(_ATTEMPTS)
        .where(_ATTEMPTS.c.id.in_(ids))
        .values(
            outcome=SendOutcome.SENT.value,
            error=None,
            finished_at=_by_row(
                _ATTEMPTS.c.id, ids, _each(_ATTEMPTS.c.finished_at, "finished", size)
            ),
            provider_message_id=_by_row(
                _ATTEMPTS.c.id, ids, _each(_ATTEMPTS.c.provider_message_id, "provider", size)
            ),
        )
    )


def _settle_messages(size: int) -> Prepared:
    ids = _each(_SMS.c.id, "message", size)
    at = _each(_SMS.c.updated_at, "at", size)
    return Prepared(
        update(_SMS)
        .where(
            _SMS.c.id.in_(ids),
            _SMS.c.claim_token == _by_row(_SMS.c.id, ids, _each(_SMS.c.claim_token, "claim", size)),
            _SMS.c.status == SmsStatus.SENDING.value,
        )
        .values(
            claimed_until=None,
            claim_token=None,
            updated_at=_by_row(_SMS.c.id, ids, at),
            status=SmsStatus.SENT.value,
            gateway=_by_row(_SMS.c.id, ids, _each(_SMS.c.gateway, "gateway", size)),
            provider_message_id=_by_row(
                _SMS.c.id, ids, _each(_SMS.c.provider_message_id, "provider", size)
            ),
            body_ciphertext=None,
            sent_at=_by_row(_SMS.c.id, ids, at),
            last_error=None,
        )
        .returning(_SMS.c.id)
    )


def _write_some(session: Session, results: Sequence[SentResult]) -> list[bool]:
    statements = _statements(len(results))
    attempts: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for index, result in enumerate(results):
        message = result.message
        attempts[f"attempt{index}"] = message.attempt_id
        attempts[f"finished{index}"] = result.at
        attempts[f"provider{index}"] = result.provider_message_id
        messages[f"message{index}"] = message.id
        messages[f"claim{index}"] = message.claim_token
        messages[f"at{index}"] = result.at
        messages[f"gateway{index}"] = message.gateway
        messages[f"provider{index}"] = result.provider_message_id
    statements.close_attempts.run(session, attempts)
    settled = {row.id for row in statements.settle_messages.rows(session, messages)}
    recorded = [result.message.id in settled for result in results]
    audit.insert_rows(
        session,
        [
            audit.event_row(
                Event(
                    EventKind.SENT,
                    result.message.declaration_request_id,
                    result.message.verification_id,
                    sent_detail(result.message),
                ),
                at=result.at,
                actor=None,
                request_id=result.message.request_id,
            )
            for result, held in zip(results, recorded, strict=True)
            if held
        ],
    )
    return recorded
