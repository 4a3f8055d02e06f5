"""The in-process relay against a fake provider on 127.0.0.1 that goes down, hangs and refuses.

Real HTTP both ways: the API through the app's test client, the relay through the shared httpx
client to a real local server. Nothing of ours is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from declaration_otp.sms.relay import retry_delay
from tests.conftest import Backend, World, make_world
from tests.fake_sms_provider import FakeProvider
from tests.sms_support import (
    FAST_RELAY,
    attempts_of,
    http_gateway_backend,
    initialize,
    message_of,
    running_provider,
    status_of,
    wait_until,
)

PROVIDER_KEY = "Bearer provider-key-never-logged"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    yield from running_provider()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def http_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider
) -> Iterator[Backend]:
    tmp_dir = tmp_path_factory.mktemp(f"relay-{request.param}")
    yield from http_gateway_backend(
        request.param, tmp_dir, fake, sms_http_authorization=PROVIDER_KEY
    )


@pytest.fixture
def world(http_backend: Backend, fake: FakeProvider) -> Iterator[World]:
    fake.mode, fake.delay = "ok", 2.0
    fake.release.clear()
    if fake._server is None:
        fake.start()
    yield make_world(http_backend)
    fake.release.set()  # never leave a hanging request to the next test


def test_healthy_provider_gets_to_text_and_reference(world: World, fake: FakeProvider) -> None:
    phone, data = initialize(world)
    wait_until(lambda: status_of(world.backend, data["id"]) == "sent", what="sent")
    message = message_of(world.backend, data["id"])
    (request,) = fake.requests_for(str(message.id))
    assert request.path == "/sms"
    assert request.to == phone
    assert request.text.startswith("Код авторизації дій в системі eHealth: ")
    assert request.headers["authorization"] == PROVIDER_KEY
    assert request.headers["idempotency-key"] == str(message.id)
    assert message.gateway == "http" and message.provider_message_id.startswith("P-")
    assert message.body_ciphertext is None
    (attempt,) = attempts_of(world.backend, message.id)
    assert (attempt.outcome, attempt.gateway, attempt.attempt_no) == ("sent", "http", 1)
    assert attempt.provider_message_id == message.provider_message_id


def test_provider_down_then_back_delivers_every_message_once(
    world: World, fake: FakeProvider
) -> None:
    fake.stop()  # connection refused
    verifications = [initialize(world)[1] for _ in range(4)]
    request = world.create_ok()
    resent = world.resend(request["id"])
    assert resent.status_code == 200, resent.text  # the API does not wait for the provider
    verifications.append(resent.json()["data"])
    messages = [message_of(world.backend, v["id"]) for v in verifications]
    # The relay keeps trying (and opens the circuit) while the provider is down ...
    wait_until(
        lambda: all(attempts_of(world.backend, m.id) for m in messages), what="first attempts"
    )
    failed = attempts_of(world.backend, messages[0].id)[0]
    assert failed.outcome == "retry" and "cannot connect" in (failed.error or "")
    assert all(status_of(world.backend, v["id"]) in ("queued", "sending") for v in verifications)

    fake.start()  # ... and once it is back, every queued message goes out, exactly once.
    for verification in verifications:
        wait_until(lambda v=verification: status_of(world.backend, v["id"]) == "sent", what="sent")
    for message in messages:
        assert fake.accepted_for(str(message.id)) == 1
    first_request = world.backend.verifications(request["id"])
    assert len([v for v in first_request if v.status == "CANCELED"]) == 1


def test_hanging_provider_does_not_hold_up_the_api_and_is_retried_with_backoff(
    world: World, fake: FakeProvider
) -> None:
    fake.mode, fake.delay = "slow", 2.0  # answers after 2 s; our read timeout is 0.5 s
    _, slow = initialize(world)
    message = message_of(world.backend, slow["id"])
    fake.wait_for_request(str(message.id))

    # While the relay waits on the provider, the API answers at once.
    _, other = initialize(world)
    answered_at = world.backend.clock()
    request = world.create_ok()
    assert world.resend(request["id"]).status_code == 200
    first = wait_until(
        lambda: [a for a in attempts_of(world.backend, message.id) if a.finished_at],
        what="first attempt settled",
    )[0]
    assert first.finished_at is not None and answered_at < first.finished_at
    assert first.outcome == "retry" and "no answer in time" in (first.error or "")

    # Retries follow capped exponential backoff with full jitter.
    attempts = wait_until(
        lambda: (
            [a for a in attempts_of(world.backend, message.id) if a.outcome == "retry"][2:]
            and attempts_of(world.backend, message.id)
        ),
        what="three retries",
    )
    for attempt in attempts:
        if attempt.outcome != "retry":
            continue
        assert attempt.retry_at is not None and attempt.finished_at is not None
        ceiling = min(
            FAST_RELAY["relay_backoff_cap_seconds"],
            FAST_RELAY["relay_backoff_base_seconds"] * 2 ** (attempt.attempt_no - 1),
        )
        delay = (attempt.retry_at - attempt.finished_at).total_seconds()
        assert 0 <= delay <= ceiling + 1e-3
    fake.mode = "ok"
    wait_until(lambda: status_of(world.backend, slow["id"]) == "sent", what="sent")
    wait_until(lambda: status_of(world.backend, other["id"]) == "sent", what="other sent")
    # Every request for the message carried the same reference: the provider can de-duplicate.
    requests = fake.requests_for(str(message.id))
    assert {r.headers["idempotency-key"] for r in requests} == {str(message.id)}


def test_permanent_error_fails_the_message_at_once_without_retries(
    world: World, fake: FakeProvider
) -> None:
    fake.mode = "reject400"
    phone, data = initialize(world)
    wait_until(lambda: status_of(world.backend, data["id"]) == "failed", what="failed")
    message = message_of(world.backend, data["id"])
    assert message.last_error is not None and message.last_error.startswith("HTTP 400")
    assert "not a valid phone number" in message.last_error
    assert phone not in message.last_error  # provider texts are stored with the phone masked
    assert message.body_ciphertext is None
    time.sleep(0.5)  # ten relay polls: still one request, no retry storm
    assert len(fake.requests_for(str(message.id))) == 1
    (attempt,) = attempts_of(world.backend, message.id)
    assert attempt.outcome == "failed" and attempt.retry_at is None


def test_rate_limited_provider_is_retried(world: World, fake: FakeProvider) -> None:
    fake.mode = "error429"
    _, data = initialize(world)
    message = message_of(world.backend, data["id"])
    wait_until(lambda: len(fake.requests_for(str(message.id))) >= 2, what="a retry")
    fake.mode = "ok"
    wait_until(lambda: status_of(world.backend, data["id"]) == "sent", what="sent")
    outcomes = [a.outcome for a in attempts_of(world.backend, message.id)]
    assert outcomes[-1] == "sent" and set(outcomes[:-1]) == {"retry"}


def test_a_code_that_expired_while_the_provider_was_down_is_not_sent(
    world: World, fake: FakeProvider
) -> None:
    fake.stop()
    _, data = initialize(world)
    message = message_of(world.backend, data["id"])
    wait_until(
        lambda: any(a.outcome == "retry" for a in attempts_of(world.backend, message.id)),
        what="a failed attempt",
    )
    world.backend.clock.advance(world.backend.settings.otp_ttl_seconds + 1)
    wait_until(lambda: status_of(world.backend, data["id"]) == "expired", what="expired")
    fake.start()
    time.sleep(0.3)  # several relay polls with the provider back: still nothing sent
    assert fake.accepted_for(str(message.id)) == 0
    expired = message_of(world.backend, data["id"])
    assert expired.status == "expired" and expired.body_ciphertext is None
    assert attempts_of(world.backend, message.id)[-1].outcome == "expired"


def test_backoff_is_capped_full_jitter() -> None:
    for attempt in range(1, 30):
        ceiling = min(60.0, 2.0 ** (attempt - 1))
        delays = [retry_delay(attempt, base=1.0, cap=60.0) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
    assert timedelta(seconds=retry_delay(40, base=1.0, cap=60.0)) <= timedelta(seconds=60)
