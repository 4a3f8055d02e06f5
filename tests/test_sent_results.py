"""Messages the gateway took, recorded together: the same rows as recorded one by one, in the
same order, with a lost claim still telling its own result apart; on SQLite three statements for
up to sixteen of them."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from declaration_otp.sms.outbox import ClaimedSms, record_retry
from declaration_otp.sms.result_batches import ResultWriter
from declaration_otp.sms.sent_results import SentResult, write_sent
from declaration_otp.tables import OtpEvent, SmsAttempt, SmsMessage
from tests.conftest import Backend, statements_sent
from tests.sms_support import claimed_message


def _results(
    backend: Backend, count: int, tag: str, start: datetime | None = None
) -> list[SentResult]:
    start = start or backend.clock() + timedelta(seconds=1)
    return [
        SentResult(
            claimed_message(backend),
            f"{tag}-{index}",
            start + timedelta(milliseconds=7 * index),
        )
        for index in range(count)
    ]


def _message_row(backend: Backend, message: ClaimedSms) -> tuple[Any, ...]:
    row = backend.database.run_sync(lambda s: s.get(SmsMessage, message.id), write=False)
    assert row is not None
    return (
        row.status,
        row.gateway,
        row.provider_message_id,
        row.sent_at,
        row.updated_at,
        row.body_ciphertext,
        row.claim_token,
        row.claimed_until,
        row.last_error,
    )


def _attempt_row(backend: Backend, message: ClaimedSms) -> tuple[Any, ...]:
    row = backend.database.run_sync(lambda s: s.get(SmsAttempt, message.attempt_id), write=False)
    assert row is not None
    return (row.outcome, row.error, row.finished_at, row.provider_message_id)


def _events(backend: Backend, messages: list[ClaimedSms]) -> list[tuple[Any, ...]]:
    """The `sent` events of `messages`, in the trail's order."""
    ids = [message.verification_id for message in messages]

    def read(session: Session) -> list[tuple[Any, ...]]:
        rows = session.exec(
            select(OtpEvent)
            .where(col(OtpEvent.verification_id).in_(ids), col(OtpEvent.event) == "sent")
            .order_by(col(OtpEvent.id))
        ).all()
        return [
            (
                ids.index(row.verification_id),
                row.declaration_request_id,
                row.occurred_at,
                row.request_id,
                row.detail,
                row.actor_user_id,
            )
            for row in rows
        ]

    return backend.database.run_sync(read, write=False)


def _write_together(backend: Backend, results: list[SentResult]) -> list[bool]:
    return backend.database.run_sync(
        lambda session: write_sent(session, results), write=True, pipelined=True
    )


def _take_over(backend: Backend, message: ClaimedSms) -> uuid.UUID:
    """Another relay claims `message` (this one was presumed dead)."""
    newer = uuid.uuid4()
    backend.database.run_sync(
        lambda session: session.execute(
            update(SmsMessage).where(col(SmsMessage.id) == message.id).values(claim_token=newer)
        ),
        write=True,
    )
    return newer


def test_results_recorded_together_write_what_each_alone_writes(backend: Backend) -> None:
    # 21 results: statements of 16, 4 and 1 on SQLite.
    start = backend.clock() + timedelta(seconds=1)
    alone = _results(backend, 21, "alone", start)
    together = _results(backend, 21, "together", start)
    for result in alone:
        assert backend.database.run_sync(result, write=True, pipelined=True) is True
    assert _write_together(backend, together) == [True] * 21

    for one, other in zip(alone, together, strict=True):
        mine, theirs = _message_row(backend, one.message), _message_row(backend, other.message)
        assert mine[:2] + mine[3:] == theirs[:2] + theirs[3:]  # all but the provider's id
        assert mine[2] == one.provider_message_id
        assert _message_row(backend, other.message)[:3] == (
            "sent",
            "console",
            other.provider_message_id,
        )
        assert _message_row(backend, other.message)[3] == other.at
        assert _attempt_row(backend, other.message) == (
            "sent",
            None,
            other.at,
            other.provider_message_id,
        )
    # The times: each result's own (alone and together were drawn at the same offsets).
    assert [_message_row(backend, r.message)[3] for r in alone] == [r.at for r in together]
    events_alone = _events(backend, [r.message for r in alone])
    events_together = _events(backend, [r.message for r in together])
    assert [event[0] for event in events_together] == list(range(21))  # in the results' order
    assert [event[2:] for event in events_alone] == [event[2:] for event in events_together]
    assert events_together[0][4] == "gateway console, attempt 1"


def test_a_lost_claim_in_a_batch_is_told_apart(backend: Backend) -> None:
    results = _results(backend, 3, "batch")
    newer = _take_over(backend, results[1].message)

    assert _write_together(backend, results) == [True, False, True]

    lost = _message_row(backend, results[1].message)
    assert (lost[0], lost[2], lost[6]) == ("sending", None, newer)
    assert lost[5] is not None  # the text stays for the relay that holds the claim
    # Its own attempt is closed all the same: what it did is on record.
    assert _attempt_row(backend, results[1].message)[::3] == ("sent", "batch-1")
    assert [event[0] for event in _events(backend, [r.message for r in results])] == [0, 2]
    # Written again (a retried write after its commit was not heard): nothing more.
    assert _write_together(backend, [results[0], results[2]]) == [False, False]
    assert len(_events(backend, [r.message for r in results])) == 2


def test_sqlite_records_sixteen_results_in_three_statements(backend: Backend) -> None:
    results = _results(backend, 16, "count")
    with statements_sent(backend.database.engine) as statements:
        assert _write_together(backend, results) == [True] * 16
    sent = [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]
    assert len(sent) == (3 if backend.database.is_sqlite else 16)


def test_the_result_writer_keeps_the_order_of_a_mixed_batch(backend: Backend) -> None:
    first, sent = _results(backend, 1, "first")[0], _results(backend, 3, "mixed")
    retried = claimed_message(backend)
    retry_at = backend.clock() + timedelta(seconds=30)
    held, release = threading.Event(), threading.Event()

    def held_first(session: Session) -> bool:
        recorded = first(session)
        held.set()
        release.wait(10)
        return recorded

    def retry(session: Session) -> bool:
        return record_retry(session, retried, error="busy", retry_at=retry_at, now=backend.clock())

    async def run() -> list[Any]:
        writer = ResultWriter(backend.database)
        alone = asyncio.ensure_future(writer.write(held_first))
        await asyncio.to_thread(held.wait, 10)  # the rest arrive while it is written
        works: list[Any] = [sent[0], sent[1], retry, sent[2]]
        later = [asyncio.ensure_future(writer.write(work)) for work in works]
        await asyncio.sleep(0.05)
        release.set()
        return [await alone, *[await each for each in later]]

    assert asyncio.run(run()) == [True, True, True, True, True]
    assert [event[0] for event in _events(backend, [r.message for r in sent])] == [0, 1, 2]
    assert _message_row(backend, retried)[0] == "queued"
    for result in sent:
        assert _message_row(backend, result.message)[:3] == (
            "sent",
            "console",
            result.provider_message_id,
        )


def test_two_results_for_one_message_in_a_batch_are_each_told_apart(backend: Backend) -> None:
    # A relay's late result for a claim that expired, beside that of the relay that took the
    # message over: only the claim that holds settles the message.
    late = _results(backend, 1, "late")[0]
    newer = _take_over(backend, late.message)
    current = SentResult(
        dataclasses.replace(late.message, claim_token=newer, attempt_id=uuid.uuid4()),
        "current",
        late.at + timedelta(seconds=1),
    )
    other = _results(backend, 1, "other")[0]

    assert _write_together(backend, [late, current, other]) == [False, True, True]

    settled = _message_row(backend, late.message)
    assert (settled[0], settled[2], settled[6]) == ("sent", "current", None)
    assert [event[0] for event in _events(backend, [late.message, other.message])] == [0, 1]
