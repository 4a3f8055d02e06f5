"""`declaration-otp relay` as real processes: SIGKILL in the two windows, SIGTERM, two relays.

The relay runs as a subprocess against a real database and sends to a fake provider on
127.0.0.1. The duplicate window these tests pin down is documented in docs/sms-delivery.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from declaration_otp.codes import IssuedCode, draft_code, issue_code
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.runtime import Services
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.settings import Settings
from declaration_otp.sms.outbox import BirthClaim
from declaration_otp.tables import SmsAttempt, SmsMessage
from tests.conftest import TEST_SECRET, _postgres_database, random_phone
from tests.fake_sms_provider import FakeProvider
from tests.sms_support import running_provider, wait_until

# Send deadline 0.5 + 1.5 + 1 = 3 s, so a claim lasts 6 s: a dead relay's message is taken over
# by the next relay within 6 s.
RELAY_ENV = {
    "SECRET_KEY": TEST_SECRET,
    "SMS_GATEWAY": "http",
    "HTTP_CONNECT_TIMEOUT_SECONDS": "0.5",
    "HTTP_READ_TIMEOUT_SECONDS": "1.5",
    "RELAY_CLAIM_SECONDS": "6",
    "RELAY_POLL_SECONDS": "0.05",
    "RELAY_BACKOFF_BASE_SECONDS": "0.05",
    "RELAY_BACKOFF_CAP_SECONDS": "0.3",
    "SMS_MAX_ATTEMPTS": "50",
    "LOG_LEVEL": "WARNING",
}


class Outbox:
    """A migrated database and a way to queue codes into it, as the API would."""

    def __init__(self, url: str) -> None:
        upgrade(url)
        self.url = url
        self.settings = Settings(
            database_url=url,
            secret_key=TEST_SECRET,  # type: ignore[arg-type]
            otp_resend_cooldown_seconds=0,
            otp_phone_send_limits="",
        )
        self.database = Database.from_url(url, pool_size=2)
        self.services = Services(
            settings=self.settings, database=self.database, secrets=SecretBox(TEST_SECRET)
        )

    def queue(self, claim: BirthClaim | None = None) -> str:
        """Queue a code's SMS; with `claim`, claimed at birth by a process that never sends it."""
        draft = draft_code(self.services, claim=claim)

        def work(session: Any) -> uuid.UUID:
            issued = issue_code(
                session,
                services=self.services,
                phone_number=random_phone(),
                declaration_request_id=None,
                request_id="relay-test",
                draft=draft,
            )
            assert isinstance(issued, IssuedCode)
            return issued.sms_id

        return str(self.database.run_sync(work, write=True))

    def message(self, message_id: str) -> SmsMessage:
        return self.database.run_sync(  # type: ignore[no-any-return]
            lambda s: s.get(SmsMessage, uuid.UUID(message_id)), write=False
        )

    def outcomes(self, message_id: str) -> list[str]:
        wanted = uuid.UUID(message_id)
        return self.database.run_sync(
            lambda s: [
                a.outcome
                for a in s.exec(
                    select(SmsAttempt)
                    .where(SmsAttempt.message_id == wanted)
                    .order_by(col(SmsAttempt.attempt_no))
                ).all()
            ],
            write=False,
        )


class RelayProcess:
    def __init__(self, outbox: Outbox, fake: FakeProvider, log: Path, **env: str) -> None:
        self.log = log
        environment = {
            **os.environ,
            **RELAY_ENV,
            "DATABASE_URL": outbox.url,
            "SMS_HTTP_URL": f"{fake.url}/sms",
            **env,
        }
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "declaration_otp.cli", "relay"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 15) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    yield from running_provider()


@pytest.fixture
def relays(fake: FakeProvider, tmp_path: Path) -> Iterator[list[RelayProcess]]:
    fake.mode, fake.delay = "ok", 30.0
    fake.release.clear()
    started: list[RelayProcess] = []
    yield started
    fake.release.set()
    for relay in started:
        relay.stop()


@pytest.fixture
def sqlite_outbox(tmp_path: Path) -> Iterator[Outbox]:
    outbox = Outbox(f"sqlite:///{tmp_path / 'relay.db'}")
    yield outbox
    outbox.database.close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


def _start(
    relays: list[RelayProcess], outbox: Outbox, fake: FakeProvider, tmp: Path, **env: str
) -> RelayProcess:
    relay = RelayProcess(outbox, fake, tmp / f"relay-{len(relays)}.log", **env)
    relays.append(relay)
    return relay


def test_sigkill_between_claim_and_send_loses_nothing(
    sqlite_outbox: Outbox, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    message_id = sqlite_outbox.queue()
    fake.mode = "hang"  # the provider holds the request without taking the message
    first = _start(relays, sqlite_outbox, fake, tmp_path)
    fake.wait_for_request(message_id, timeout=20)
    first.kill()
    assert sqlite_outbox.message(message_id).status == "sending"  # claimed, nothing recorded
    assert fake.accepted_for(message_id) == 0

    fake.mode = "ok"
    fake.release.set()
    _start(relays, sqlite_outbox, fake, tmp_path)
    wait_until(lambda: sqlite_outbox.message(message_id).status == "sent", 20, "sent")
    assert fake.accepted_for(message_id) == 1
    assert sqlite_outbox.outcomes(message_id) == ["abandoned", "sent"]


def test_a_process_that_dies_after_claiming_at_birth_loses_nothing(
    sqlite_outbox: Outbox, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    # The API process committed the code with its SMS claimed (sms/dispatch.py) and died before
    # its relay sent it: no one else may take the message until the claim expires, then any
    # relay does.
    claim = BirthClaim(gateway="http", claim_token=uuid.uuid4(), attempt_id=uuid.uuid4(), seconds=2)
    message_id = sqlite_outbox.queue(claim)
    assert sqlite_outbox.message(message_id).status == "sending"
    assert sqlite_outbox.outcomes(message_id) == ["sending"]
    _start(relays, sqlite_outbox, fake, tmp_path)
    wait_until(lambda: sqlite_outbox.message(message_id).status == "sent", 20, "sent")
    assert fake.accepted_for(message_id) == 1
    assert sqlite_outbox.outcomes(message_id) == ["abandoned", "sent"]
    assert sqlite_outbox.message(message_id).attempts == 2


def test_sigkill_between_send_and_recording_sends_at_most_one_duplicate(
    sqlite_outbox: Outbox, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    message_id = sqlite_outbox.queue()
    fake.mode = "arrive_then_hang"  # the provider takes the message, then answers late
    first = _start(relays, sqlite_outbox, fake, tmp_path)
    fake.wait_for_request(message_id, timeout=20)
    first.kill()
    assert fake.accepted_for(message_id) == 1
    assert sqlite_outbox.message(message_id).status == "sending"

    fake.mode = "ok"
    fake.release.set()
    _start(relays, sqlite_outbox, fake, tmp_path)
    wait_until(lambda: sqlite_outbox.message(message_id).status == "sent", 20, "sent")
    # The documented window: sent once before the kill, once more after; never a third time.
    requests = fake.requests_for(message_id)
    assert fake.accepted_for(message_id) == 2 and len(requests) == 2
    assert {r.headers["idempotency-key"] for r in requests} == {message_id}
    assert sqlite_outbox.outcomes(message_id) == ["abandoned", "sent"]


def test_sigterm_finishes_the_message_in_hand(
    sqlite_outbox: Outbox, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    message_id = sqlite_outbox.queue()
    fake.mode, fake.delay = "slow", 1.0  # answers within the read timeout, but not at once
    relay = _start(relays, sqlite_outbox, fake, tmp_path)
    fake.wait_for_request(message_id, timeout=20)
    assert relay.terminate() == 0
    assert sqlite_outbox.message(message_id).status == "sent"
    assert fake.accepted_for(message_id) == 1


def test_sigterm_past_the_grace_period_gives_the_message_back(
    sqlite_outbox: Outbox, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    message_id = sqlite_outbox.queue()
    fake.mode = "hang"
    relay = _start(relays, sqlite_outbox, fake, tmp_path, RELAY_SHUTDOWN_GRACE_SECONDS="0.2")
    fake.wait_for_request(message_id, timeout=20)
    assert relay.terminate() == 0
    message = sqlite_outbox.message(message_id)
    assert message.status == "queued" and message.claim_token is None  # not left to expire
    assert sqlite_outbox.outcomes(message_id) == ["released"]
    fake.mode = "ok"
    fake.release.set()
    _start(relays, sqlite_outbox, fake, tmp_path)
    wait_until(lambda: sqlite_outbox.message(message_id).status == "sent", 20, "sent")


def test_two_relays_on_one_postgresql_database_never_send_a_message_twice(
    postgres_url: str, fake: FakeProvider, relays: list[RelayProcess], tmp_path: Path
) -> None:
    outbox = Outbox(postgres_url)
    try:
        fake.mode, fake.delay = "slow", 0.02
        for _ in range(2):
            _start(relays, outbox, fake, tmp_path, RELAY_BATCH_SIZE="3")
        message_ids = [outbox.queue() for _ in range(40)]
        for message_id in message_ids:
            wait_until(lambda m=message_id: outbox.message(m).status == "sent", 30, "sent")
        assert [fake.accepted_for(m) for m in message_ids] == [1] * len(message_ids)
        assert all(len(fake.requests_for(m)) == 1 for m in message_ids)
        assert all(outbox.outcomes(m) == ["sent"] for m in message_ids)
    finally:
        outbox.database.close()
