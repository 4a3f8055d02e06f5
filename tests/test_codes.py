"""A new code replaces the old ones in one unit of work: all of it is written, or none of it.

On SQLite the replacement and the new rows are one statement (the `code_issues` view's
trigger), on PostgreSQL a cancel and one chained insert; on both, a row the database refuses
leaves the replaced code active, its SMS as it was, and no new row or event behind.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from declaration_otp.codes import draft_code, issue_code
from declaration_otp.runtime import Services
from declaration_otp.tables import OtpEvent, SmsMessage, Verification
from tests.conftest import World


def test_a_code_whose_rows_are_refused_replaces_nothing(world: World) -> None:
    backend = world.backend
    request = world.create_ok()
    declaration_request_id = uuid.UUID(request["id"])
    replaced = uuid.UUID(world.active_verification_id(request["id"]))
    backend.clock.advance(61)  # past the cooldown: the send limits allow this code
    services = Services(
        settings=backend.settings,
        database=backend.database,
        secrets=backend.secrets,
        clock=backend.clock,
    )

    def snapshot(session: Session) -> tuple[object, ...]:
        """What the refused code would have changed. The app's relay goes on sending the
        replaced code's SMS meanwhile: its progress (sending, sent, its `sent` event) is not
        part of it."""
        code = session.get(Verification, replaced)
        assert code is not None
        message = session.exec(
            select(SmsMessage).where(col(SmsMessage.verification_id) == replaced)
        ).one()
        rows = tuple(
            session.exec(
                select(func.count())
                .select_from(table)
                .where(col(table.declaration_request_id) == declaration_request_id)
            ).one()
            for table in (Verification, SmsMessage)
        )
        code_events = session.exec(
            select(func.count())
            .select_from(OtpEvent)
            .where(
                col(OtpEvent.declaration_request_id) == declaration_request_id,
                col(OtpEvent.event).in_(["issued", "resent", "cancelled"]),
            )
        ).one()
        return (code.active, code.status, message.status == "canceled", *rows, code_events)

    before = backend.read(snapshot)
    taken_sms_id = backend.read(
        lambda session: session.exec(
            select(SmsMessage.id).where(col(SmsMessage.verification_id) == replaced)
        ).one()
    )
    # The new SMS takes an id the outbox already holds: its insert, after the cancel and the
    # new code's, is refused.
    draft = dataclasses.replace(draft_code(services), sms_id=taken_sms_id)

    with pytest.raises(IntegrityError):
        backend.write(
            lambda session: issue_code(
                session,
                services=services,
                phone_number=world.otp_phone,
                declaration_request_id=declaration_request_id,
                request_id="refused",
                draft=draft,
            )
        )

    assert backend.read(snapshot) == before
    assert before == (True, "NEW", False, 1, 1, 1)
