"""The audit trail (`otp_events`) through the API: what each step records, what it never holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from declaration_otp import audit
from declaration_otp.audit import Event, EventKind
from declaration_otp.tables import ApiToken, OtpEvent, Verification
from tests.conftest import Backend, World, make_world, random_phone, running_backend
from tests.sms_support import wait_until

CALLBACK_SECRET = "audit-callback-secret"


def events_of(backend: Backend, declaration_request_id: str) -> list[OtpEvent]:
    wanted = uuid.UUID(declaration_request_id)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: list(
            s.exec(
                select(OtpEvent)
                .where(OtpEvent.declaration_request_id == wanted)
                .order_by(col(OtpEvent.occurred_at), col(OtpEvent.id))
            ).all()
        )
    )


def events_of_verification(backend: Backend, verification_id: str) -> list[OtpEvent]:
    wanted = uuid.UUID(verification_id)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: list(
            s.exec(
                select(OtpEvent)
                .where(OtpEvent.verification_id == wanted)
                .order_by(col(OtpEvent.occurred_at), col(OtpEvent.id))
            ).all()
        )
    )


def wait_for_sent(backend: Backend, verification_id: str) -> None:
    wait_until(
        lambda: any(e.event == "sent" for e in events_of_verification(backend, verification_id)),
        what=f"sent event of {verification_id}",
    )


def user_of(world: World) -> str:
    token_hash = world.backend.secrets.token_hash(world.token)
    return world.backend.read(  # type: ignore[no-any-return]
        lambda s: s.exec(select(ApiToken.user_id).where(ApiToken.token_hash == token_hash)).one()
    )


def _with_id(world: World, request_id: str) -> dict[str, str]:
    return {**world.headers, "X-Request-ID": request_id}


def test_story_of_create_resend_429_wrong_code_approve(world: World) -> None:
    backend, client = world.backend, world.backend.client
    base = "/api/v3/declaration_requests"
    body = {
        "person_id": world.otp_person_id,
        "employee_id": world.doctor_id,
        "division_id": world.division_id,
    }
    created = client.post(base, json=body, headers=_with_id(world, "rq-create"))
    assert created.status_code == 201, created.text
    request_id = created.json()["data"]["id"]
    first = world.active_verification_id(request_id)
    first_code = backend.code_of(first)
    wait_for_sent(backend, first)

    backend.clock.advance(61)  # past the resend cooldown
    resent = client.post(
        f"{base}/{request_id}/actions/resend_otp", headers=_with_id(world, "rq-resend")
    )
    assert resent.status_code == 200, resent.text
    second = resent.json()["data"]["id"]
    code = backend.code_of(second)
    wait_for_sent(backend, second)

    refused = client.post(
        f"{base}/{request_id}/actions/resend_otp", headers=_with_id(world, "rq-resend-again")
    )
    assert refused.status_code == 429
    wrong = client.patch(
        f"{base}/{request_id}/actions/approve",
        json={"verification_code": 100000 if code != 100000 else 100001},
        headers=_with_id(world, "rq-approve-wrong"),
    )
    assert wrong.status_code == 422
    approved = client.patch(
        f"{base}/{request_id}/actions/approve",
        json={"verification_code": code},
        headers=_with_id(world, "rq-approve"),
    )
    assert approved.status_code == 200, approved.text

    events = events_of(backend, request_id)
    story = [(e.event, str(e.verification_id) if e.verification_id else None) for e in events]
    assert story == [
        ("issued", first),
        ("sent", first),
        ("cancelled", first),
        ("resent", second),
        ("sent", second),
        ("rate_limited", None),
        ("failed_attempt", second),
        ("verified", second),
    ]
    assert [e.request_id for e in events] == [
        "rq-create",
        "rq-create",  # relay events carry the request that queued the SMS
        "rq-resend",
        "rq-resend",
        "rq-resend",
        "rq-resend-again",
        "rq-approve-wrong",
        "rq-approve",
    ]
    user = user_of(world)
    for event in events:
        if event.event == "sent":
            assert (event.actor_user_id, event.actor_legal_entity_id) == (None, None)
        else:
            assert event.actor_user_id == user
            assert str(event.actor_legal_entity_id) == world.legal_entity_id
    assert "Retry-After" in (events[5].detail or "")
    assert events[6].detail == "Invalid verification code (attempt 1 of 3)"
    assert events[7].detail == "attempt 2 of 3"

    # Never a code, a code hash or the full phone, in any column of any event.
    hashes = [v.code_hash for v in backend.verifications(request_id)]
    for event in events:
        text = " ".join(str(getattr(event, c.key)) for c in sa.inspect(OtpEvent).columns)
        for secret in (str(first_code), str(code), world.otp_phone, *hashes):
            assert secret not in text, (secret, text)
    assert "*****" in (events[0].detail or "")


def test_reject_and_superseding_create_record_cancelled_codes(world: World) -> None:
    first = world.create_ok()["id"]
    wait_for_sent(world.backend, world.active_verification_id(first))
    world.backend.clock.advance(61)  # past the resend cooldown
    second = world.create_ok()["id"]  # same person, doctor and legal entity: the first ends
    assert world.reject(second).status_code == 200
    assert [(e.event, e.detail) for e in events_of(world.backend, first)][1:] == [
        ("sent", "gateway file, attempt 1"),
        ("cancelled", "declaration request superseded by a new one"),
    ]
    # The relay may still be sending the second code: its "sent" can land on either side.
    (cancelled,) = [e for e in events_of(world.backend, second) if e.event == "cancelled"]
    assert cancelled.detail == "declaration request rejected"
    assert cancelled.request_id is not None and cancelled.actor_user_id == user_of(world)


def test_verification_api_events_and_refusal(world: World) -> None:
    client, phone = world.backend.client, random_phone()
    created = client.post(
        "/api/verifications",
        json={"phone_number": phone},
        headers=_with_id(world, "rq-init"),
    )
    assert created.status_code == 201, created.text
    verification_id = created.json()["data"]["id"]
    code = world.backend.code_of(verification_id)
    refused = client.post(
        "/api/verifications", json={"phone_number": phone}, headers=_with_id(world, "rq-again")
    )
    assert refused.status_code == 429
    done = client.patch(
        f"/api/verifications/{phone}/actions/complete",
        json={"code": code},
        headers=_with_id(world, "rq-complete"),
    )
    assert done.status_code == 200, done.text
    kinds = [e.event for e in events_of_verification(world.backend, verification_id)]
    assert [k for k in kinds if k != "sent"] == ["issued", "verified"]

    def refusals(session: Session) -> list[OtpEvent]:
        query = select(OtpEvent).where(OtpEvent.request_id == "rq-again")
        return list(session.exec(query).all())

    (refusal,) = world.backend.read(refusals)
    assert refusal.event == "rate_limited" and refusal.declaration_request_id is None
    assert phone not in (refusal.detail or "") and phone[:6] + "*****" in (refusal.detail or "")
    assert str(refusal.actor_legal_entity_id) == world.legal_entity_id


def test_the_trail_refuses_updates(world: World) -> None:
    request_id = world.create_ok()["id"]
    wanted = uuid.UUID(request_id)

    def tamper(session: Session) -> Any:
        return session.execute(
            sa.update(OtpEvent)
            .where(col(OtpEvent.declaration_request_id) == wanted)
            .values(event="verified")
        )

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        world.backend.write(tamper)
    assert events_of(world.backend, request_id)[0].event == "issued"


def test_the_database_refuses_unknown_event_kinds(backend: Backend) -> None:
    def insert(session: Session) -> None:
        session.execute(
            sa.insert(OtpEvent).values(occurred_at=backend.clock(), event="code=123456")
        )

    with pytest.raises(sa.exc.IntegrityError):
        backend.write(insert)


def test_events_recorded_together_keep_their_order(backend: Backend) -> None:
    """More events than one statement takes on SQLite (16): the ids still follow the order
    given, across statements, and every row keeps its own values."""
    request = uuid.uuid4()
    kinds = [EventKind.CANCELLED, EventKind.RESENT, EventKind.SENT] * 7  # 21 events
    events = [Event(kind, request, uuid.uuid4(), f"event {n}") for n, kind in enumerate(kinds)]
    at = backend.clock()

    backend.write(lambda session: audit.record(session, events, at=at, request_id="rq-many"))

    stored = events_of(backend, str(request))
    assert [(e.event, e.verification_id, e.detail) for e in stored] == [
        (e.kind.value, e.verification_id, e.detail) for e in events
    ]
    assert [e.id for e in stored] == sorted(e.id for e in stored)  # type: ignore[type-var]
    assert {(e.request_id, e.occurred_at) for e in stored} == {("rq-many", at)}


@pytest.fixture
def reporting_backend(tmp_path: Path) -> Iterator[Backend]:
    yield from running_backend(
        "audit-callbacks", tmp_path, sms_status_callback_secret=CALLBACK_SECRET
    )


def test_provider_reports_are_recorded(reporting_backend: Backend) -> None:
    world = make_world(reporting_backend)
    request_id = world.create_ok()["id"]
    verification_id = world.active_verification_id(request_id)
    wait_for_sent(reporting_backend, verification_id)
    (message,) = reporting_backend.sms_messages(request_id)
    response = reporting_backend.client.post(
        f"/api/sms/status/twilio?message_id={message.id}",
        data={"MessageSid": str(message.id), "MessageStatus": "delivered"},
        headers={"X-Callback-Secret": CALLBACK_SECRET},
    )
    assert response.status_code == 200, response.text
    events = events_of(reporting_backend, request_id)
    assert [e.event for e in events] == ["issued", "sent", "delivered"]
    assert events[-1].verification_id == uuid.UUID(verification_id)

    def verification(session: Session) -> Verification:
        return session.exec(
            select(Verification).where(Verification.id == uuid.UUID(verification_id))
        ).one()

    assert reporting_backend.read(verification).active
