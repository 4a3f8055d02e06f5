"""Helpers of the SMS delivery tests: apps wired to a fake provider, and looks at the outbox."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.codes import IssuedCode, draft_code, issue_code
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.runtime import Services
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.settings import Settings
from declaration_otp.sms.outbox import BirthClaim, ClaimedSms
from declaration_otp.tables import SmsAttempt, SmsMessage
from tests.conftest import (
    TEST_SECRET,
    Backend,
    FakeClock,
    World,
    _postgres_database,
    random_phone,
)
from tests.fake_sms_provider import FakeProvider

T = TypeVar("T")

# Short timeouts and backoff so that faults play out in seconds; claim = 2 x send deadline.
FAST_RELAY: dict[str, Any] = {
    "http_connect_timeout_seconds": 0.5,
    "http_read_timeout_seconds": 0.5,
    "relay_claim_seconds": 4,
    "relay_poll_seconds": 0.05,
    "relay_backoff_base_seconds": 0.05,
    "relay_backoff_cap_seconds": 0.4,
    "sms_circuit_failures": 3,
    "sms_circuit_cooloff_seconds": 0.5,
    "sms_max_attempts": 100,
    "otp_resend_cooldown_seconds": 0,
    "otp_phone_send_limits": "",
}


def gateway_backend(name: str, url: str, tmp_dir: Path, **overrides: Any) -> Iterator[Backend]:
    """A running app on `url` whose relay sends through the gateways in `overrides`."""
    upgrade(url)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        validate_responses=True,
        **{**FAST_RELAY, **overrides},
    )
    clock = FakeClock()
    database = Database.from_url(url, pool_size=2)
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield Backend(name, client, settings, database, clock, tmp_dir / "unused.jsonl")
    database.close()


def running_provider() -> Iterator[FakeProvider]:
    """A fake provider for a test module; no request is left hanging when it ends."""
    provider = FakeProvider().start()
    yield provider
    provider.release.set()
    provider.stop()


def http_gateway_backend(
    kind: str, tmp_dir: Path, fake: FakeProvider, **overrides: Any
) -> Iterator[Backend]:
    """A running app on a new SQLite file or PostgreSQL database (`kind`) whose relay sends to
    `fake` through the `http` gateway."""
    overrides = {"sms_gateway": "http", "sms_http_url": f"{fake.url}/sms", **overrides}
    if kind == "sqlite":
        yield from gateway_backend(kind, f"sqlite:///{tmp_dir / 'relay.db'}", tmp_dir, **overrides)
    else:
        for url in _postgres_database():
            yield from gateway_backend(kind, url, tmp_dir, **overrides)


def wait_until(probe: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def initialize(world: World, phone: str | None = None) -> tuple[str, dict[str, Any]]:
    """POST /api/verifications; returns (phone, verification data)."""
    phone = phone or random_phone()
    response = world.backend.client.post(
        "/api/verifications", json={"phone_number": phone}, headers=world.headers
    )
    assert response.status_code == 201, response.text
    return phone, response.json()["data"]


def message_of(backend: Backend, verification_id: str) -> SmsMessage:
    wanted = uuid.UUID(verification_id)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: s.exec(select(SmsMessage).where(SmsMessage.verification_id == wanted)).one()
    )


def attempts_of(backend: Backend, message_id: uuid.UUID) -> list[SmsAttempt]:
    return backend.read(
        lambda s: list(
            s.exec(
                select(SmsAttempt)
                .where(SmsAttempt.message_id == message_id)
                .order_by(col(SmsAttempt.attempt_no))
            ).all()
        )
    )


def status_of(backend: Backend, verification_id: str) -> str:
    return message_of(backend, verification_id).status


def claimed_message(backend: Backend) -> ClaimedSms:
    """A code's SMS claimed at birth, for long enough that no relay of the app takes it (by
    the app's clock, which other tests move)."""
    services = Services(
        settings=backend.settings,
        database=backend.database,
        secrets=SecretBox(TEST_SECRET),
        clock=backend.clock,
    )
    claim = BirthClaim(
        gateway="console", claim_token=uuid.uuid4(), attempt_id=uuid.uuid4(), seconds=600
    )
    draft = draft_code(services, claim=claim)

    def work(session: Session) -> IssuedCode:
        issued = issue_code(
            session,
            services=services,
            phone_number=random_phone(),
            declaration_request_id=None,
            request_id="results-test",
            draft=draft,
        )
        assert isinstance(issued, IssuedCode)
        return issued

    issued = backend.database.run_sync(work, write=True)
    assert issued.claimed_sms is not None
    return issued.claimed_sms
