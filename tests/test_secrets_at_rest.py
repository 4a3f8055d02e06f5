"""Codes, SMS texts and tokens are never stored in clear, on either backend."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.settings import Settings
from declaration_otp.tables import ApiToken, SmsMessage, Verification
from tests.conftest import TEST_SECRET, Backend, FakeClock, World, _postgres_database, make_world

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SMS_PREFIX = "Код авторизації дій в системі eHealth: "


def _quiet(name: str, url: str, tmp_dir: Path) -> Iterator[Backend]:
    """An app whose SMS relay is off: queued messages stay queued for inspection."""
    upgrade(url)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,
        sms_gateway="file",
        sms_file=tmp_dir / f"quiet-sms-{name}.jsonl",
        relay_enabled=False,
        validate_responses=True,
    )
    clock = FakeClock()
    database = Database.from_url(url, pool_size=2)
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield Backend(name, client, settings, database, clock, settings.sms_file)
    database.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def quiet_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    tmp_dir = tmp_path_factory.mktemp(f"quiet-{request.param}")
    if request.param == "sqlite":
        yield from _quiet("sqlite", f"sqlite:///{tmp_dir / 'quiet.db'}", tmp_dir)
    else:
        for url in _postgres_database():
            yield from _quiet("postgres", url, tmp_dir)


def rows_of(backend: Backend, model: Any, **where: Any) -> list[dict[str, Any]]:
    def work(session: Any) -> list[dict[str, Any]]:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return [row.model_dump() for row in session.exec(query).all()]

    return backend.read(work)  # type: ignore[no-any-return]


def assert_absent(secret: str, rows: list[dict[str, Any]]) -> None:
    """`secret` is in no column of `rows`, as text, bytes or number."""
    for row in rows:
        for column, value in row.items():
            if value is None:
                continue
            if isinstance(value, bytes):
                assert secret.encode() not in value, column
                assert secret.encode("utf-16-le") not in value, column
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int):
                assert str(value) != secret, column
            else:
                assert secret not in str(value), column


def sqlite_files(backend: Backend) -> list[Path]:
    database = Path(sa.engine.make_url(backend.settings.database_url).database or "")
    return [p for p in (database, Path(f"{database}-wal")) if p.exists()]


def assert_not_in_sqlite_files(backend: Backend, code: str) -> None:
    files = sqlite_files(backend)
    assert files, "no SQLite database file found"
    for path in files:
        raw = path.read_bytes()
        assert f": {code}".encode() not in raw, path.name
        assert f"{SMS_PREFIX}{code}".encode() not in raw, path.name


def settled_messages(backend: Backend, request_id: str, timeout: float = 10.0) -> list[SmsMessage]:
    """The request's SMS rows once the relay has recorded the outcome of every delivery."""
    deadline = time.monotonic() + timeout
    while True:
        messages = backend.sms_messages(request_id)
        if all(m.status not in ("queued", "sending") for m in messages):
            return messages
        if time.monotonic() > deadline:
            raise AssertionError([(m.id, m.status) for m in messages])
        time.sleep(0.02)


def create_and_resend(world: World) -> tuple[dict[str, Any], list[str]]:
    """A request with two codes (create, then resend); the verification ids, oldest first."""
    request = world.create_ok()
    first = world.active_verification_id(request["id"])
    world.backend.wait_for_sms(first)  # delivered before its code is replaced
    world.backend.clock.advance(61)
    resent = world.resend(request["id"])
    assert resent.status_code == 200, resent.text
    return request, [first, resent.json()["data"]["id"]]


def test_codes_are_in_no_column_and_hashed_with_a_key(world: World) -> None:
    request, verification_ids = create_and_resend(world)
    codes = [str(world.backend.code_of(vid)) for vid in verification_ids]

    verifications = rows_of(
        world.backend, Verification, declaration_request_id=uuid.UUID(request["id"])
    )
    messages = rows_of(world.backend, SmsMessage, declaration_request_id=uuid.UUID(request["id"]))

    assert len(verifications) == 2 and len(messages) == 2
    for code in codes:
        assert_absent(code, verifications)
        assert_absent(code, messages)
    by_id = {str(row["id"]): row for row in verifications}
    for verification_id, code in zip(verification_ids, codes, strict=True):
        stored = by_id[verification_id]["code_hash"]
        assert HEX64.match(stored)
        assert stored != hashlib.sha256(code.encode()).hexdigest()
        assert stored != hashlib.sha256(f"{verification_id}:{code}".encode()).hexdigest()
        assert stored == world.backend.secrets.code_hash(uuid.UUID(verification_id), code)


def test_same_code_hashes_differently_per_verification(world: World) -> None:
    box = world.backend.secrets
    first, second = uuid.uuid4(), uuid.uuid4()
    assert box.code_hash(first, "123456") != box.code_hash(second, "123456")


def test_sent_sms_bodies_are_wiped(world: World) -> None:
    request, verification_ids = create_and_resend(world)
    for verification_id in verification_ids:
        world.backend.wait_for_sms(verification_id)

    messages = settled_messages(world.backend, request["id"])

    assert {str(m.verification_id) for m in messages} == set(verification_ids)
    for message in messages:
        assert message.status == "sent"
        assert message.body_ciphertext is None
        assert message.sent_at is not None


def test_queued_sms_body_is_only_ciphertext(quiet_backend: Backend) -> None:
    world = make_world(quiet_backend)
    request = world.create_ok()
    (message,) = quiet_backend.sms_messages(request["id"])
    (verification,) = quiet_backend.verifications(request["id"])

    assert message.status == "queued"
    assert message.body_ciphertext is not None
    text = quiet_backend.secrets.open_sms(message.id, message.body_ciphertext)
    assert text.startswith(SMS_PREFIX)
    code = text.removeprefix(SMS_PREFIX)
    assert re.fullmatch(r"[1-9]\d{5}", code)
    assert verification.code_hash == quiet_backend.secrets.code_hash(verification.id, code)
    assert code.encode() not in message.body_ciphertext
    assert SMS_PREFIX.encode() not in message.body_ciphertext
    assert_absent(code, rows_of(quiet_backend, SmsMessage, id=message.id))
    assert_absent(code, rows_of(quiet_backend, Verification, id=verification.id))
    if quiet_backend.name == "sqlite":
        assert_not_in_sqlite_files(quiet_backend, code)


def test_resend_drops_the_queued_body_of_the_replaced_code(quiet_backend: Backend) -> None:
    world = make_world(quiet_backend)
    request = world.create_ok()
    (first,) = quiet_backend.sms_messages(request["id"])
    quiet_backend.clock.advance(61)
    assert world.resend(request["id"]).status_code == 200

    messages = {m.id: m for m in quiet_backend.sms_messages(request["id"])}

    assert messages[first.id].status == "canceled"
    assert messages[first.id].body_ciphertext is None
    (queued,) = [m for m in messages.values() if m.status == "queued"]
    assert queued.body_ciphertext is not None


def test_sqlite_files_never_hold_a_code_in_clear(world: World) -> None:
    if world.backend.name != "sqlite":
        pytest.skip("raw database files exist only for SQLite")
    _, verification_ids = create_and_resend(world)
    codes = [str(world.backend.code_of(vid)) for vid in verification_ids]
    for code in codes:
        assert_not_in_sqlite_files(world.backend, code)


def test_tokens_are_stored_only_as_keyed_hashes(world: World) -> None:
    tokens = rows_of(world.backend, ApiToken, client_id=uuid.UUID(world.legal_entity_id))

    assert len(tokens) == 1
    (row,) = tokens
    assert HEX64.match(row["token_hash"])
    assert row["token_hash"] == world.backend.secrets.token_hash(world.token)
    assert row["token_hash"] != hashlib.sha256(world.token.encode()).hexdigest()
    assert_absent(world.token, rows_of(world.backend, ApiToken))
    # The stored hash is not itself a usable token.
    response = world.backend.client.get(
        "/api/v3/declaration_requests", headers={"Authorization": f"Bearer {row['token_hash']}"}
    )
    assert response.status_code == 401


def test_sqlite_files_never_hold_a_token_in_clear(world: World) -> None:
    if world.backend.name != "sqlite":
        pytest.skip("raw database files exist only for SQLite")
    for path in sqlite_files(world.backend):
        assert world.token.encode() not in path.read_bytes(), path.name
