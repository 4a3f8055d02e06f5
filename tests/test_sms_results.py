"""The relay's results: recorded only while the relay's claim on the message holds.

The relay writes its results pipelined on PostgreSQL (`Relay._write`): whether the claim still
held is read from the rows the message's update returns, never from a row count that a
pipeline does not know yet. On both databases, through the same write the relay uses.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from declaration_otp.audit import EventKind
from declaration_otp.sms.outbox import ClaimedSms, SendOutcome, record_sent
from declaration_otp.tables import OtpEvent, SmsAttempt, SmsMessage
from tests.conftest import Backend, statements_sent
from tests.sms_support import claimed_message


def _record_sent(backend: Backend, message: ClaimedSms, provider_id: str) -> bool:
    now = backend.clock() + timedelta(seconds=1)
    return backend.database.run_sync(
        lambda session: record_sent(session, message, provider_message_id=provider_id, now=now),
        write=True,
        pipelined=True,
    )


def _sent_events(backend: Backend, verification_id: uuid.UUID) -> int:
    return backend.database.run_sync(
        lambda session: len(
            session.exec(
                select(OtpEvent).where(
                    col(OtpEvent.verification_id) == verification_id,
                    col(OtpEvent.event) == EventKind.SENT.value,
                )
            ).all()
        ),
        write=False,
    )


def test_a_relay_that_lost_its_claim_records_nothing_on_the_message(backend: Backend) -> None:
    message = claimed_message(backend)
    newer_claim = uuid.uuid4()
    # Another relay took the message over (this one was presumed dead) and sends it again.
    backend.database.run_sync(
        lambda session: session.execute(
            update(SmsMessage)
            .where(col(SmsMessage.id) == message.id)
            .values(claim_token=newer_claim)
        ),
        write=True,
    )

    assert _record_sent(backend, message, "late-1") is False

    row = backend.database.run_sync(lambda s: s.get(SmsMessage, message.id), write=False)
    assert row is not None
    assert (row.status, row.claim_token, row.provider_message_id) == (
        "sending",
        newer_claim,
        None,
    )
    assert row.body_ciphertext is not None  # still there for the relay that holds the claim
    assert _sent_events(backend, message.verification_id) == 0
    # Its own attempt is closed all the same: what it did is on record.
    attempt = backend.database.run_sync(
        lambda s: s.get(SmsAttempt, message.attempt_id), write=False
    )
    assert attempt is not None
    assert (attempt.outcome, attempt.provider_message_id) == (SendOutcome.SENT.value, "late-1")

    # The relay that holds the claim records its result.
    current = dataclasses.replace(message, claim_token=newer_claim, attempt_id=uuid.uuid4())
    assert _record_sent(backend, current, "current-1") is True
    row = backend.database.run_sync(lambda s: s.get(SmsMessage, message.id), write=False)
    assert row is not None
    assert (row.status, row.claim_token, row.provider_message_id, row.body_ciphertext) == (
        "sent",
        None,
        "current-1",
        None,
    )
    assert _sent_events(backend, message.verification_id) == 1


def test_a_result_is_recorded_once(backend: Backend) -> None:
    message = claimed_message(backend)

    assert _record_sent(backend, message, "first") is True
    # The same result again (a retried write after its commit was not heard): no second event.
    assert _record_sent(backend, message, "again") is False

    row = backend.database.run_sync(lambda s: s.get(SmsMessage, message.id), write=False)
    assert row is not None
    assert (row.status, row.provider_message_id) == ("sent", "first")
    assert _sent_events(backend, message.verification_id) == 1


def test_a_result_and_its_event_are_one_statement_on_postgresql(backend: Backend) -> None:
    """PostgreSQL closes the attempt, settles the message and appends the event in one
    statement (the event made from the message's returned row); SQLite runs three."""
    message = claimed_message(backend)
    with statements_sent(backend.database.engine) as statements:
        assert _record_sent(backend, message, "one-statement") is True
    assert len(statements) == (3 if backend.database.is_sqlite else 1)
    assert _sent_events(backend, message.verification_id) == 1
