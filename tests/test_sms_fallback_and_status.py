"""Failover to a Twilio-shaped secondary provider, and Twilio status callbacks, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from declaration_otp.sms.delivery_status import twilio_signature
from declaration_otp.tables import SmsMessage
from tests.conftest import (
    Backend,
    World,
    _postgres_database,
    full_scans,
    make_world,
    query_plan,
)
from tests.fake_sms_provider import FakeProvider, basic_auth
from tests.sms_support import (
    attempts_of,
    gateway_backend,
    initialize,
    message_of,
    status_of,
    wait_until,
)

SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token-never-logged"
CALLBACK_SECRET = "shared-callback-secret"
PUBLIC_BASE = "https://otp.example.gov.ua"


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[FakeProvider, FakeProvider]]:
    primary, twilio = FakeProvider().start(), FakeProvider().start()
    yield primary, twilio
    for provider in (primary, twilio):
        provider.release.set()
        provider.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def failover_backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    providers: tuple[FakeProvider, FakeProvider],
) -> Iterator[Backend]:
    primary, twilio = providers
    tmp_dir = tmp_path_factory.mktemp(f"failover-{request.param}")
    overrides = {
        "sms_gateway": "http",
        "sms_http_url": f"{primary.url}/sms",
        "sms_fallback_gateway": "twilio",
        "twilio_base_url": twilio.url,
        "twilio_account_sid": SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": "+15005550006",
        "sms_status_callback_base_url": PUBLIC_BASE,
        "sms_status_callback_secret": CALLBACK_SECRET,
        "sms_circuit_cooloff_seconds": 30.0,  # the primary stays out for the whole test
    }
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_dir / 'failover.db'}"
        yield from gateway_backend("sqlite", url, tmp_dir, **overrides)
    else:
        for url in _postgres_database():
            yield from gateway_backend("postgres", url, tmp_dir, **overrides)


@pytest.fixture(scope="module")
def world(failover_backend: Backend, providers: tuple[FakeProvider, FakeProvider]) -> World:
    """Fails the primary over once for the module: later tests find the traffic on Twilio."""
    primary = providers[0]
    primary.mode = "error500"
    world = make_world(failover_backend)
    # SMS_CIRCUIT_FAILURES consecutive failures open the primary's circuit; once these three
    # went out through the fallback, it is open for the rest of the module.
    first = [initialize(world)[1] for _ in range(3)]
    for data in first:
        wait_until(lambda d=data: status_of(world.backend, d["id"]) == "sent", what="failover")
        assert message_of(world.backend, data["id"]).gateway == "twilio"
    return world


def _sent_by_twilio(world: World, twilio: FakeProvider) -> tuple[str, str]:
    """Queue one code; returns (our message id, Twilio's sid) once Twilio took it."""
    _, data = initialize(world)
    wait_until(lambda: status_of(world.backend, data["id"]) == "sent", what="sent")
    message = message_of(world.backend, data["id"])
    assert message.gateway == "twilio" and message.provider_message_id
    return str(message.id), message.provider_message_id


def test_open_circuit_moves_traffic_to_the_fallback(
    world: World, providers: tuple[FakeProvider, FakeProvider]
) -> None:
    primary, twilio = providers
    calls_to_primary = len(primary.received)
    phone, data = initialize(world)
    wait_until(lambda: status_of(world.backend, data["id"]) == "sent", what="sent")
    message = message_of(world.backend, data["id"])
    assert len(primary.received) == calls_to_primary  # the open circuit spares the primary
    (request,) = twilio.requests_for(str(message.id))
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert basic_auth(request.headers["authorization"]) == (SID, AUTH_TOKEN)
    assert request.body["To"] == phone and request.body["From"] == "+15005550006"
    assert request.body["Body"].startswith("Код авторизації дій в системі eHealth: ")
    assert request.body["StatusCallback"] == (
        f"{PUBLIC_BASE}/api/sms/status/twilio?message_id={message.id}"
    )
    assert message.gateway == "twilio" and message.provider_message_id.startswith("SM")
    assert [a.gateway for a in attempts_of(world.backend, message.id)] == ["twilio"]
    # The messages the primary failed on went out through the fallback, once each.
    for record in primary.received:
        assert twilio.accepted_for(record.reference) == 1


def _signed(message_id: str, fields: dict[str, str]) -> str:
    return twilio_signature(
        f"{PUBLIC_BASE}/api/sms/status/twilio?message_id={message_id}", fields, AUTH_TOKEN
    )


def test_signed_status_callbacks_record_delivery_idempotently(
    world: World, providers: tuple[FakeProvider, FakeProvider]
) -> None:
    message_id, sid = _sent_by_twilio(world, providers[1])
    fields = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": SID, "ApiVersion": "x"}
    client = world.backend.client
    path = f"/api/sms/status/twilio?message_id={message_id}"
    headers = {"X-Twilio-Signature": _signed(message_id, fields)}

    first = client.post(path, data=fields, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["data"] == {"id": message_id, "status": "delivered", "changed": True}
    again = client.post(path, data=fields, headers=headers)
    assert again.status_code == 200
    assert again.json()["data"] == {"id": message_id, "status": "delivered", "changed": False}
    late = {**fields, "MessageStatus": "sent"}  # out of order: never moves a status back
    stale = client.post(path, data=late, headers={"X-Twilio-Signature": _signed(message_id, late)})
    assert stale.status_code == 200 and stale.json()["data"]["changed"] is False
    message = world.backend.read(lambda s: s.get(SmsMessage, uuid.UUID(message_id)))
    assert message.status == "delivered" and message.delivered_at is not None
    assert message.provider_status == "delivered"


def test_undelivered_report_keeps_the_reason(
    world: World, providers: tuple[FakeProvider, FakeProvider]
) -> None:
    message_id, sid = _sent_by_twilio(world, providers[1])
    fields = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    response = world.backend.client.post(
        f"/api/sms/status/twilio?message_id={message_id}",
        data=fields,
        headers={"X-Twilio-Signature": _signed(message_id, fields)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "undelivered"


def test_shared_secret_authenticates_and_lookup_by_provider_id(
    world: World, providers: tuple[FakeProvider, FakeProvider]
) -> None:
    message_id, sid = _sent_by_twilio(world, providers[1])
    response = world.backend.client.post(
        "/api/sms/status/twilio",
        data={"MessageSid": sid, "MessageStatus": "delivered"},
        headers={"X-Callback-Secret": CALLBACK_SECRET},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == message_id


def test_lookup_by_provider_id_is_served_by_its_partial_index(
    world: World,
    providers: tuple[FakeProvider, FakeProvider],
    captured: list[tuple[str, Any]],
) -> None:
    """The index holds only messages a provider accepted (migration 0004): the callback's
    lookup must still be served by it, on both databases."""
    _, sid = _sent_by_twilio(world, providers[1])
    engine = world.backend.database.engine
    captured.clear()

    response = world.backend.client.post(
        "/api/sms/status/twilio",
        data={"MessageSid": sid, "MessageStatus": "delivered"},
        headers={"X-Callback-Secret": CALLBACK_SECRET},
    )

    assert response.status_code == 200, response.text
    lookups = [
        (statement, parameters)
        for statement, parameters in captured
        if "FROM sms_messages" in statement and "provider_message_id =" in statement
    ]
    assert len(lookups) == 1, lookups
    statement, parameters = lookups[0]
    assert not full_scans(engine, statement, parameters)
    assert any("ix_sms_messages_provider" in line for line in query_plan(engine, *lookups[0]))


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, {"X-Callback-Secret": "wrong"}],
    ids=["none", "bad-signature", "bad-secret"],
)
def test_unauthenticated_callbacks_are_401_and_change_nothing(
    world: World, providers: tuple[FakeProvider, FakeProvider], headers: dict[str, str]
) -> None:
    message_id, sid = _sent_by_twilio(world, providers[1])
    response = world.backend.client.post(
        f"/api/sms/status/twilio?message_id={message_id}",
        data={"MessageSid": sid, "MessageStatus": "failed"},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "access_denied",
        "message": "Invalid callback signature",
    }
    assert status_of_message(world, message_id) == "sent"


def test_a_tampered_field_breaks_the_signature(
    world: World, providers: tuple[FakeProvider, FakeProvider]
) -> None:
    message_id, sid = _sent_by_twilio(world, providers[1])
    signed = {"MessageSid": sid, "MessageStatus": "delivered"}
    sent = {"MessageSid": sid, "MessageStatus": "failed"}
    response = world.backend.client.post(
        f"/api/sms/status/twilio?message_id={message_id}",
        data=sent,
        headers={"X-Twilio-Signature": _signed(message_id, signed)},
    )
    assert response.status_code == 401


def test_unknown_message_is_404_and_malformed_report_is_422(world: World) -> None:
    client = world.backend.client
    secret = {"X-Callback-Secret": CALLBACK_SECRET}
    unknown = client.post(
        "/api/sms/status/twilio",
        data={"MessageSid": "SMnope", "MessageStatus": "delivered"},
        headers=secret,
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"
    missing = client.post("/api/sms/status/twilio", data={"MessageSid": "SM1"}, headers=secret)
    assert missing.status_code == 422
    assert missing.json()["error"]["type"] == "validation_failed"
    bad_id = client.post(
        "/api/sms/status/twilio?message_id=nope",
        data={"MessageSid": "SM1", "MessageStatus": "sent"},
        headers=secret,
    )
    assert bad_id.status_code == 422
    other_provider = client.post(
        "/api/sms/status/smpp", data={"MessageSid": "SM1", "MessageStatus": "sent"}, headers=secret
    )
    assert other_provider.status_code == 422


def test_signature_matches_twilios_documented_example() -> None:
    # From Twilio's "Webhooks security" documentation.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def status_of_message(world: World, message_id: str) -> str:
    row = world.backend.read(lambda s: s.get(SmsMessage, uuid.UUID(message_id)))
    return str(row.status)
