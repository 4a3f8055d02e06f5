"""A new code's SMS claimed in the transaction that queues it, and sent by the relay of the
process that wrote it as soon as that transaction commits (sms/dispatch.py).

The API through the app's test client, the relay through real HTTP to a fake provider on
127.0.0.1; the slot rules on a `Relay` of our own over a real SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from declaration_otp.codes import IssuedCode, draft_code, issue_code
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.runtime import Services
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.settings import Settings
from declaration_otp.sms.relay import Relay
from declaration_otp.tables import SmsAttempt, SmsMessage
from tests.conftest import TEST_SECRET, Backend, World, make_world, random_phone
from tests.fake_sms_provider import FakeProvider
from tests.sms_support import (
    FAST_RELAY,
    attempts_of,
    http_gateway_backend,
    initialize,
    message_of,
    running_provider,
    wait_until,
)

BATCH = 2


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    yield from running_provider()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def http_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider
) -> Iterator[Backend]:
    tmp_dir = tmp_path_factory.mktemp(f"dispatch-{request.param}")
    yield from http_gateway_backend(request.param, tmp_dir, fake, relay_batch_size=BATCH)


def _nothing_sending(backend: Backend) -> bool:
    return not backend.read(
        lambda s: s.exec(select(SmsMessage.id).where(SmsMessage.status == "sending")).first()
    )


@pytest.fixture
def world(http_backend: Backend, fake: FakeProvider) -> Iterator[World]:
    # The provider holds every request (not taking the message) until released.
    fake.mode, fake.delay = "hang", 10.0
    fake.release.clear()
    yield make_world(http_backend)
    fake.mode = "ok"
    fake.release.set()
    # The next test needs the relay's slots free: its sends in flight end once the provider has
    # answered and their results are written. Without this wait the next test could hold the
    # provider again before it answered these, and its codes found no slot (queued, then claimed
    # by a batch: a later claim than the one at birth the tests expect).
    wait_until(lambda: _nothing_sending(http_backend), what="the sends in flight finished")


def _same_transaction(backend: Backend, verification_id: str, attempt_id: uuid.UUID) -> bool:
    """PostgreSQL: whether the code and the SMS attempt were written by one transaction."""
    return bool(
        backend.read(
            lambda s: s.execute(
                text(
                    "SELECT v.xmin::text = a.xmin::text FROM verifications v, sms_attempts a"
                    " WHERE v.id = :v AND a.id = :a"
                ),
                {"v": uuid.UUID(verification_id), "a": attempt_id},
            ).scalar_one()
        )
    )


def _claimed_at_birth(world: World, verification_id: str) -> None:
    backend = world.backend
    message = message_of(backend, verification_id)
    # Read as soon as the API answered: already claimed, its first attempt open.
    assert message.status == "sending"
    assert message.attempts == 1 and message.claim_token is not None
    assert message.claimed_until is not None
    claim = (message.claimed_until - message.inserted_at).total_seconds()
    assert claim == backend.settings.relay_claim_seconds
    (attempt,) = attempts_of(backend, message.id)
    assert (attempt.attempt_no, attempt.outcome, attempt.gateway) == (1, "sending", "http")
    assert attempt.started_at == message.inserted_at
    if backend.name == "postgres":
        assert _same_transaction(backend, verification_id, attempt.id)


def test_a_new_code_is_claimed_with_its_sms_and_sent_once(world: World, fake: FakeProvider) -> None:
    phone, data = initialize(world)
    _claimed_at_birth(world, data["id"])
    message = message_of(world.backend, data["id"])
    assert fake.wait_for_request(str(message.id)).to == phone
    fake.mode = "ok"
    fake.release.set()
    wait_until(lambda: message_of(world.backend, data["id"]).status == "sent", what="sent")
    assert fake.accepted_for(str(message.id)) == 1


def test_resend_and_create_claim_their_sms_too(world: World) -> None:
    created = world.create_ok()
    first = world.active_verification_id(created["id"])
    _claimed_at_birth(world, first)
    response = world.resend(created["id"])
    assert response.status_code == 200, response.text
    _claimed_at_birth(world, response.json()["data"]["id"])


def test_a_request_that_fails_gives_its_slot_back(world: World) -> None:
    for _ in range(BATCH + 1):
        missing = world.resend(str(uuid.uuid4()))
        assert missing.status_code == 404
    codes = [initialize(world)[1] for _ in range(BATCH)]
    for data in codes:
        _claimed_at_birth(world, data["id"])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def relayless_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider
) -> Iterator[Backend]:
    """No relay in the process: every SMS stays queued, as behind a relay that is down."""
    tmp_dir = tmp_path_factory.mktemp(f"queued-{request.param}")
    yield from http_gateway_backend(request.param, tmp_dir, fake, relay_enabled=False)


def test_a_replaced_code_takes_its_queued_sms_with_it(relayless_backend: Backend) -> None:
    backend = relayless_backend
    world = make_world(backend)
    phone, first = initialize(world)
    _, second = initialize(world, phone)  # no cooldown here: the second replaces the first
    request = world.create_ok()
    replaced = world.active_verification_id(request["id"])
    resent = world.resend(request["id"])
    assert resent.status_code == 200, resent.text

    for old in (first["id"], replaced):
        message = message_of(backend, old)
        # Never sent after its successor, and its text (the code) is gone from the outbox.
        assert (message.status, message.body_ciphertext) == ("canceled", None)
    for new in (second["id"], resent.json()["data"]["id"]):
        message = message_of(backend, new)
        assert message.status == "queued" and message.body_ciphertext is not None


# --- the slot rules ------------------------------------------------------------------------


def _services(tmp_path: Path, **overrides: object) -> Services:
    url = f"sqlite:///{tmp_path / 'slots.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        **{"relay_batch_size": BATCH, "sms_circuit_failures": 1, **overrides},  # type: ignore[arg-type]
    )
    return Services(
        settings=settings,
        database=Database.from_url(url, pool_size=2),
        secrets=SecretBox(TEST_SECRET),
    )


def test_slots_only_while_running_within_the_batch_size_and_a_closed_circuit(
    tmp_path: Path,
) -> None:
    services = _services(tmp_path)

    async def scenario() -> None:
        relay = Relay.from_services(services)
        assert relay.reserve() is None  # not running: the message is queued
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(0.05)
        first, second = relay.reserve(), relay.reserve()
        assert first is not None and second is not None
        assert first.claim.claim_token != second.claim.claim_token
        assert first.claim.seconds == services.settings.relay_claim_seconds
        assert relay.reserve() is None  # BATCH sends reserved or in flight
        relay.release(first)
        third = relay.reserve()
        assert third is not None
        relay.release(second)
        relay.release(third)
        relay.router.breaker(services.settings.sms_gateway).record_failure()  # circuit open
        assert relay.reserve() is None
        relay.router.breaker(services.settings.sms_gateway).record_success()
        slot = relay.reserve()
        assert slot is not None
        relay.release(slot)
        stop.set()
        await asyncio.wait_for(running, 10)
        assert relay.reserve() is None  # stopped

    try:
        asyncio.run(scenario())
    finally:
        services.database.close()


# --- stopping with sends in flight -----------------------------------------------------------


async def _send_one_claimed(services: Services, relay: Relay) -> uuid.UUID:
    """What a handler does: reserve, issue the code with its SMS claimed, hand it over."""
    slot = relay.reserve()
    assert slot is not None
    draft = draft_code(services, claim=slot.claim)
    issued = await services.database.write(
        lambda s: issue_code(
            s,
            services=services,
            phone_number=random_phone(),
            declaration_request_id=None,
            request_id="dispatch-test",
            draft=draft,
        )
    )
    assert isinstance(issued, IssuedCode) and issued.claimed_sms is not None
    relay.send_claimed(slot, issued.claimed_sms)
    return issued.sms_id


def _outbox_state(services: Services, message_id: uuid.UUID) -> tuple[str, list[str]]:
    def read(session: Session) -> tuple[str, list[str]]:
        message = session.get(SmsMessage, message_id)
        assert message is not None
        attempts = session.exec(
            select(SmsAttempt)
            .where(SmsAttempt.message_id == message_id)
            .order_by(col(SmsAttempt.attempt_no))
        ).all()
        return message.status, [a.outcome for a in attempts]

    return services.database.run_sync(read, write=False)


@pytest.mark.parametrize(
    ("mode", "cancelled", "expected"),
    [
        # Stopped within the grace period: the send in flight is finished and recorded.
        ("slow", False, ("sent", ["sent"])),
        # Cancelled past it: the message is given back at once, not left to its claim's expiry.
        ("hang", True, ("queued", ["released"])),
    ],
)
def test_stopping_finishes_or_gives_back_the_sends_in_flight(
    tmp_path: Path, fake: FakeProvider, mode: str, cancelled: bool, expected: tuple[str, list[str]]
) -> None:
    fake.mode, fake.delay = mode, 0.3 if mode == "slow" else 10.0
    fake.release.clear()
    services = _services(tmp_path, sms_gateway="http", sms_http_url=f"{fake.url}/sms", **FAST_RELAY)

    async def scenario() -> uuid.UUID:
        relay = Relay.from_services(services)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(0.05)
        message_id = await _send_one_claimed(services, relay)
        await asyncio.to_thread(fake.wait_for_request, str(message_id))
        stop.set()
        if cancelled:
            running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(running, 10)
        await services.http.aclose()
        return message_id

    try:
        message_id = asyncio.run(scenario())
        assert _outbox_state(services, message_id) == expected
    finally:
        fake.release.set()
        services.database.close()
