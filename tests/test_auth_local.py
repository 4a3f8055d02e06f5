"""AUTH_MODE=local (the default): bearer tokens issued by the CLI, through HTTP on both databases.

Includes the brute-force test: random tokens never get more than a 401, and a lookup is by the
token's keyed hash only, so its timing cannot depend on how much of a real token was guessed.
The strict timing measurement lives in scripts/bench_token_timing.
"""

from __future__ import annotations

import random
import secrets
import statistics
import string
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from declaration_otp.auth.local import revoke_token
from declaration_otp.tables import ApiToken
from tests.conftest import Backend, World

INVALID = {"type": "access_denied", "message": "Invalid access token"}
MISSING = {
    "type": "access_denied",
    "message": "Authorization header is not set or doesn't contain Bearer token",
}


def _get(world: World, request_id: str, headers: dict[str, str]) -> Any:
    return world.backend.client.get(f"/api/v3/declaration_requests/{request_id}", headers=headers)


def _token_row(backend: Backend, token: str) -> ApiToken:
    token_hash = backend.secrets.token_hash(token)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: s.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).one()
    )


def test_a_valid_token_reaches_the_handler(world: World) -> None:
    request = world.create_ok()
    response = _get(world, request["id"], world.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == request["id"]


def test_an_expired_token_is_401(world: World) -> None:
    request = world.create_ok()
    headers = world.token_with(["declaration_request:read"], ttl_seconds=60)
    assert _get(world, request["id"], headers).status_code == 200
    world.backend.clock.advance(61)
    response = _get(world, request["id"], headers)
    assert response.status_code == 401
    assert response.json()["error"] == INVALID


def test_a_revoked_token_is_401_at_once(world: World) -> None:
    request = world.create_ok()
    headers = world.token_with(["declaration_request:read"])
    assert _get(world, request["id"], headers).status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    row = _token_row(world.backend, token)
    world.backend.write(lambda s: revoke_token(s, token_id=row.id, now=world.backend.clock()))
    response = _get(world, request["id"], headers)
    assert response.status_code == 401
    assert response.json()["error"] == INVALID


def test_a_token_without_the_scope_is_403_naming_it(world: World) -> None:
    request = world.create_ok()
    headers = world.token_with(["declaration_request:read"])
    response = world.resend(request["id"], headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. "
        "Missing allowances: otp:write",
    }


def test_every_action_on_another_legal_entitys_request_is_404(
    world: World, other_world: World
) -> None:
    foreign = other_world.create_ok()["id"]
    client = world.backend.client
    base = f"/api/v3/declaration_requests/{foreign}"
    responses = [
        client.get(base, headers=world.headers),
        client.post(f"{base}/actions/resend_otp", headers=world.headers),
        client.patch(
            f"{base}/actions/approve", json={"verification_code": 123456}, headers=world.headers
        ),
        client.patch(f"{base}/actions/reject", headers=world.headers),
    ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["type"] == "not_found"
    listed = client.get("/api/v3/declaration_requests", headers=world.headers).json()["data"]
    assert foreign not in {item["id"] for item in listed}
    # Nothing happened to it.
    assert _get(other_world, foreign, other_world.headers).json()["data"]["status"] == "NEW"


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, MISSING),
        ("", MISSING),
        ("Bearer", MISSING),
        ("Basic dXNlcjpwYXNz", MISSING),
        ("Token dotp_abc", MISSING),
        ("Bearer dotp_short", INVALID),
        ("Bearer not-our-token-at-all", INVALID),
        ("Bearer " + "dotp_" + "a" * 10_000, INVALID),
        ("Bearer dotp_" + "é" * 43, INVALID),  # sent as UTF-8 bytes
        ("Bearer dotp_" + "a" * 42 + "\x00", INVALID),
        ("Bearer dotp_" + "a" * 42 + "=", INVALID),
    ],
)
def test_malformed_authorization_is_401_never_5xx(
    world: World, authorization: str | None, error: dict[str, str]
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.encode()}
    response = _get(world, str(uuid.uuid4()), headers)  # type: ignore[arg-type]
    assert response.status_code == 401, response.text
    assert response.json()["error"] == error


def test_a_lowercase_bearer_scheme_is_accepted(world: World) -> None:
    request = world.create_ok()
    token = world.headers["Authorization"].removeprefix("Bearer ")
    assert _get(world, request["id"], {"Authorization": f"bearer {token}"}).status_code == 200


def test_gateway_headers_grant_nothing_in_local_mode(world: World) -> None:
    request = world.create_ok()
    headers = {
        "x-consumer-id": "intruder",
        "x-consumer-metadata": f'{{"client_id": "{world.legal_entity_id}"}}',
        "x-consumer-scope": "declaration_request:read",
    }
    response = _get(world, request["id"], headers)
    assert response.status_code == 401
    assert response.json()["error"] == MISSING


# --- brute force ---------------------------------------------------------------------------

ALPHABET = string.ascii_letters + string.digits + "-_"


def _random_tokens(real: str, count: int, rng: random.Random) -> Iterator[str]:
    """Well-formed guesses (they reach the database), some sharing a prefix of the real token."""
    secret_part = real.removeprefix("dotp_")
    for i in range(count):
        shared = secret_part[: rng.randrange(len(secret_part))] if i % 4 == 0 else ""
        tail = "".join(rng.choice(ALPHABET) for _ in range(len(secret_part) - len(shared)))
        guess = "dotp_" + shared + tail
        yield guess if guess != real else guess[:-1] + ("A" if guess[-1] != "A" else "B")


def test_ten_thousand_random_tokens_are_all_401(world: World) -> None:
    # 10,000 on SQLite (about 25 s); the same path on PostgreSQL with fewer, to keep the suite
    # short: the lookup is one indexed equality on either backend.
    count = 10_000 if world.backend.name == "sqlite" else 2_000
    rng = random.Random(20240611)
    url = f"/api/v3/declaration_requests/{uuid.uuid4()}"
    statuses: dict[int, int] = {}
    for guess in _random_tokens(world.token, count, rng):
        response = world.backend.client.get(url, headers={"Authorization": f"Bearer {guess}"})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert statuses == {401: count}
    # The real token still works afterwards: guessing locks nobody out and breaks nothing.
    assert world.backend.client.get(url, headers=world.headers).status_code == 404


@pytest.fixture
def token_statements() -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement touching api_tokens, with its parameters, from any engine."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "api_tokens" in statement:
            seen.append((statement, parameters))

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def test_lookup_is_by_keyed_hash_only(
    world: World, token_statements: list[tuple[str, Any]]
) -> None:
    """Structural half of "timing does not depend on the guessed prefix": the database only
    ever compares the token's HMAC, which an attacker can neither compute nor steer."""
    real = world.token
    guesses = [real[:-1] + ("x" if real[-1] != "x" else "y"), "dotp_" + "Q" * 43, real]
    url = f"/api/v3/declaration_requests/{uuid.uuid4()}"
    for guess in guesses:
        world.backend.client.get(url, headers={"Authorization": f"Bearer {guess}"})
    assert len(token_statements) == len(guesses)
    for (statement, parameters), guess in zip(token_statements, guesses, strict=True):
        assert "token_hash" in statement
        values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
        # The only value bound is the 64-hex-digit HMAC of the guess; no part of the guess.
        assert values[0] == world.backend.secrets.token_hash(guess)
        assert all(not (isinstance(v, str) and v.startswith("dotp_")) for v in values)
        assert "dotp_" not in statement


def test_response_time_does_not_depend_on_the_guessed_prefix(world: World) -> None:
    """Interleaved batches of near-miss and far-miss guesses; medians compared with a generous
    tolerance so that machine noise cannot fail it (the strict measurement is in
    scripts/bench_token_timing)."""
    real = world.token.removeprefix("dotp_")
    rng = random.Random(7)
    url = f"/api/v3/declaration_requests/{uuid.uuid4()}"
    client = world.backend.client

    def batch(prefix_length: int) -> float:
        start = time.perf_counter()
        for _ in range(20):
            # Every character after the prefix differs from the real one: always a miss.
            tail = "".join(
                rng.choice(ALPHABET.replace(real[i], "")) for i in range(prefix_length, 43)
            )
            guess = "dotp_" + real[:prefix_length] + tail
            assert client.get(url, headers={"Authorization": f"Bearer {guess}"}).status_code == 401
        return time.perf_counter() - start

    batch(0), batch(42)  # warm-up
    far, near = [], []
    for _ in range(15):
        far.append(batch(0))
        near.append(batch(42))
    ratio = statistics.median(near) / statistics.median(far)
    assert 0.5 < ratio < 2.0, (statistics.median(near), statistics.median(far))


def test_tokens_are_kept_only_as_hashes(world: World) -> None:
    def rows(session: Session) -> list[ApiToken]:
        return list(session.exec(select(ApiToken)).all())

    token = world.token
    for row in world.backend.read(rows):
        assert all(token not in str(value) for value in row.model_dump().values())
    assert _token_row(world.backend, token).token_hash == world.backend.secrets.token_hash(token)
    assert secrets.compare_digest(
        _token_row(world.backend, token).token_hash, world.backend.secrets.token_hash(token)
    )
