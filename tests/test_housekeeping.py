"""Housekeeping: expiry of codes and requests, retention purges in batches, the lifespan task.

The session backends run with housekeeping off (tests/conftest.py); these tests run passes
themselves after moving the app's clock, or start an app of their own with the task on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from sqlmodel import Session, col, select

from declaration_otp.housekeeping import HousekeepingReport, run_once
from declaration_otp.runtime import Services
from declaration_otp.settings import Settings
from declaration_otp.tables import OtpEvent, SmsAttempt, SmsMessage, Verification
from tests.conftest import ALL_SCOPES, Backend, World, make_world, random_phone, running_backend
from tests.sms_support import wait_until

DAY = 86400


def housekeep(backend: Backend, **overrides: Any) -> HousekeepingReport:
    """One pass over the backend's database at the app's clock, settings as the app's."""
    services = Services(
        settings=backend.settings.model_copy(update=overrides),
        database=backend.database,
        secrets=backend.secrets,
        clock=backend.clock,
    )
    return asyncio.run(run_once(services))


def verification(backend: Backend, verification_id: str) -> Verification | None:
    wanted = uuid.UUID(verification_id)
    return backend.read(lambda s: s.get(Verification, wanted))  # type: ignore[no-any-return]


def kinds(backend: Backend, declaration_request_id: str) -> list[str]:
    wanted = uuid.UUID(declaration_request_id)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: list(
            s.exec(
                select(OtpEvent.event)
                .where(OtpEvent.declaration_request_id == wanted)
                .order_by(col(OtpEvent.occurred_at), col(OtpEvent.id))
            ).all()
        )
    )


def test_codes_past_their_lifetime_expire(world: World) -> None:
    backend = world.backend
    request_id = world.create_ok()["id"]
    verification_id = world.active_verification_id(request_id)
    code = backend.code_of(verification_id)
    housekeep(backend)
    still = verification(backend, verification_id)
    assert still is not None and still.active and still.status == "NEW"

    backend.clock.advance(backend.settings.otp_ttl_seconds + 1)
    report = housekeep(backend)
    assert report.codes_expired >= 1
    expired = verification(backend, verification_id)
    assert expired is not None and (expired.active, expired.status) == (False, "EXPIRED")
    assert kinds(backend, request_id)[-1] == "expired"
    # The approval says what it said before housekeeping retired the code.
    response = world.approve(request_id, code)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "Verification code expired"
    # A second pass (or another process) finds nothing left to do for it.
    housekeep(backend)
    assert kinds(backend, request_id).count("expired") == 1
    # And a new code can be sent.
    assert world.resend(request_id).status_code == 200


def test_pending_requests_expire_after_their_ttl(world: World) -> None:
    backend = world.backend
    ttl_days = backend.settings.declaration_request_ttl_days
    old = world.create_ok()["id"]
    offline = world.create_ok(world.offline_person_id)["id"]
    assert world.approve(offline, None).status_code == 200
    backend.clock.advance(ttl_days * DAY - 3600)
    headers = world.token_with(ALL_SCOPES)  # the first token aged out with the clock
    world.headers = headers
    young = make_world(backend)
    young_id = young.create_ok()["id"]
    backend.clock.advance(3601)
    headers = world.token_with(ALL_SCOPES)
    world.headers = headers
    young.headers = young.token_with(ALL_SCOPES)

    report = housekeep(backend)
    assert report.requests_expired >= 2
    for request_id in (old, offline):
        data = backend.client.get(f"/api/v3/declaration_requests/{request_id}", headers=headers)
        assert data.json()["data"]["status"] == "EXPIRED", data.text
    assert kinds(backend, old)[-1] == "request_expired"
    assert [v.active for v in backend.verifications(old)] == [False]
    young_now = backend.client.get(
        f"/api/v3/declaration_requests/{young_id}", headers=young.headers
    )
    assert young_now.json()["data"]["status"] == "NEW"
    # An expired request is not pending: nothing more can happen to it.
    assert world.resend(old).status_code == 422
    assert world.reject(old).status_code == 409


def _old_verification_with_sms(backend: Backend, *, queued: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """A spent code from long ago with its message (and one attempt): what retention purges."""
    verification_id, message_id = uuid.uuid4(), uuid.uuid4()
    now = backend.clock()
    long_ago = now - dt.timedelta(days=400)

    def seed(session: Session) -> None:
        session.add(
            Verification(
                id=verification_id,
                phone_number=random_phone(),
                code_hash="0" * 64,
                status="CANCELED",
                active=False,
                code_expired_at=long_ago,
                inserted_at=long_ago,
                updated_at=long_ago,
            )
        )
        session.flush()
        session.add(
            SmsMessage(
                id=message_id,
                verification_id=verification_id,
                phone_number="+380930000000",
                body_ciphertext=b"sealed" if queued else None,
                status="queued" if queued else "sent",
                # Not due for a century: the running relay leaves it alone.
                next_attempt_at=now + dt.timedelta(days=36500),
                expires_at=long_ago,
                inserted_at=long_ago,
                updated_at=long_ago,
            )
        )
        session.flush()
        session.add(
            SmsAttempt(
                id=uuid.uuid4(),
                message_id=message_id,
                attempt_no=1,
                gateway="file",
                outcome="retry" if queued else "sent",
                started_at=long_ago,
                finished_at=long_ago,
            )
        )

    backend.write(seed)
    return verification_id, message_id


def _old_event(backend: Backend) -> int:
    def seed(session: Session) -> int:
        event = OtpEvent(occurred_at=backend.clock() - dt.timedelta(days=400), event="issued")
        session.add(event)
        session.flush()
        assert event.id is not None
        return event.id

    return backend.write(seed)  # type: ignore[no-any-return]


def test_retention_purges_children_first_in_batches(backend: Backend) -> None:
    spent = [_old_verification_with_sms(backend, queued=False) for _ in range(5)]
    open_id, open_message = _old_verification_with_sms(backend, queued=True)
    old_events = [_old_event(backend) for _ in range(5)]
    recent = make_world(backend).create_ok()["id"]

    report = housekeep(backend, housekeeping_batch_size=2)

    def remaining(session: Session) -> dict[str, Any]:
        ids = [v for v, _ in spent]
        messages = [m for _, m in spent]
        return {
            "verifications": session.exec(
                select(Verification.id).where(col(Verification.id).in_(ids))
            ).all(),
            "messages": session.exec(
                select(SmsMessage.id).where(col(SmsMessage.id).in_(messages))
            ).all(),
            "attempts": session.exec(
                select(SmsAttempt.id).where(col(SmsAttempt.message_id).in_(messages))
            ).all(),
            "events": session.exec(
                select(OtpEvent.id).where(col(OtpEvent.id).in_(old_events))
            ).all(),
            "open": session.get(Verification, open_id),
            "open_message": session.get(SmsMessage, open_message),
        }

    left = backend.read(remaining)
    assert left["verifications"] == left["messages"] == left["attempts"] == left["events"] == []
    # A message the relay may still work on keeps itself and its code's row; its text (of an
    # expired code) is wiped at once.
    assert left["open"] is not None
    assert left["open_message"] is not None and left["open_message"].body_ciphertext is None
    # Batches of two: each kind took several short transactions.
    assert report.sms_purged + report.verifications_purged >= 5
    assert report.events_purged >= 5
    assert report.transactions >= 6 + 3 + 2
    # Recent rows are untouched.
    assert backend.verifications(recent) and kinds(backend, recent)[0] == "issued"


def test_verification_retention_must_cover_the_send_limit_windows() -> None:
    with pytest.raises(pydantic.ValidationError, match="RETENTION_VERIFICATIONS_DAYS"):
        Settings(retention_verifications_days=1, otp_phone_send_limits="5/600,20/172800")
    Settings(retention_verifications_days=2, otp_phone_send_limits="5/600,20/172800")


@pytest.fixture
def scheduled(tmp_path: Path) -> Iterator[Backend]:
    yield from running_backend(
        "housekeeping", tmp_path, housekeeping_enabled=True, housekeeping_interval_seconds=0.05
    )


def test_serve_runs_housekeeping_on_its_interval(scheduled: Backend) -> None:
    world = make_world(scheduled)
    request_id = world.create_ok()["id"]
    verification_id = world.active_verification_id(request_id)
    scheduled.clock.advance(scheduled.settings.otp_ttl_seconds + 1)
    wait_until(
        lambda: getattr(verification(scheduled, verification_id), "status", None) == "EXPIRED",
        what="the code expired by the lifespan task",
    )
    # The relay may record the SMS outcome after the expiry: order between them is not fixed.
    assert "expired" in kinds(scheduled, request_id)
