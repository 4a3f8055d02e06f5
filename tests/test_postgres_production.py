"""Production shape on PostgreSQL: several server processes, one truth in the database."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import _postgres_database
from tests.servers import Server, cli, sms_lines, write_registry

REQUESTS = 20
CALLS_PER_REQUEST = 10
# Create uses one send of the window; three resends fit, the other seven get 429.
SEND_LIMIT = 4
SOME_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture(scope="module")
def deployment(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Four `serve` workers on one PostgreSQL database, SMS appended to one file."""
    tmp = tmp_path_factory.mktemp("production")
    sms_file = tmp / "sms.jsonl"
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "SECRET_KEY": "production-test-secret-0123456789",
        "SMS_GATEWAY": "file",
        "SMS_FILE": str(sms_file),
        "OTP_RESEND_COOLDOWN_SECONDS": "0",
        "OTP_PHONE_SEND_LIMITS": f"{SEND_LIMIT}/600",
        "RELAY_POLL_SECONDS": "0.1",
        "DATABASE_POOL_SIZE": "8",
        "LOG_LEVEL": "WARNING",
    }
    registry_file = tmp / "registry.yaml"
    registry, person_ids = write_registry(registry_file, people=REQUESTS + 2)
    cli(env, "migrate")
    cli(env, "registry", "load", str(registry_file))
    legal_entity = registry["legal_entities"][0]["id"]
    scopes = (
        "declaration_request:write declaration_request:read declaration_request:approve otp:write"
    )
    token = cli(
        env, "token", "issue", "--client-id", legal_entity, "--user-id", "load", "--scope", scopes
    ).strip()
    server = Server(env, workers=4, log=tmp / "server.log")
    try:
        server.wait_ready()
        yield {
            "server": server,
            "url": pg_url,
            "sms_file": sms_file,
            "headers": {"Authorization": f"Bearer {token}"},
            "person_ids": person_ids,
            "doctor_id": registry["employees"][0]["id"],
            "division_id": registry["divisions"][0]["id"],
        }
    finally:
        server.stop()


def _create(deployment: dict[str, Any], client: httpx.Client, person_id: str) -> str:
    response = client.post(
        "/api/v3/declaration_requests",
        json={
            "person_id": person_id,
            "employee_id": deployment["doctor_id"],
            "division_id": deployment["division_id"],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _fire(base: str, headers: dict[str, str], calls: list[tuple[str, str, Any]]) -> list[Any]:
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60, limits=limits
    ) as client:
        return await asyncio.gather(
            *(client.request(method, path, json=body) for method, path, body in calls)
        )


def _rows(url: str, query: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(query), params).all())
    finally:
        engine.dispose()


def _wait_settled(url: str, request_ids: list[str], timeout: float = 30.0) -> list[Any]:
    """Outbox rows of these requests once no relay holds or waits on any of them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(
            url,
            "SELECT id, declaration_request_id, status FROM sms_messages "
            "WHERE CAST(declaration_request_id AS TEXT) = ANY(:ids)",
            ids=request_ids,
        )
        if all(row.status not in ("queued", "sending") for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(Counter(row.status for row in rows))
        time.sleep(0.1)


def test_200_concurrent_resends_over_4_workers_keep_every_rule(deployment: dict[str, Any]) -> None:
    server: Server = deployment["server"]
    with httpx.Client(base_url=server.base, headers=deployment["headers"], timeout=30) as client:
        request_ids = [
            _create(deployment, client, pid) for pid in deployment["person_ids"][:REQUESTS]
        ]
    calls = [
        ("POST", f"/api/v3/declaration_requests/{rid}/actions/resend_otp", None)
        for _ in range(CALLS_PER_REQUEST)
        for rid in request_ids
    ]
    responses = asyncio.run(_fire(server.base, deployment["headers"], calls))

    by_request: dict[str, Counter[int]] = {rid: Counter() for rid in request_ids}
    for (_method, path, _body), response in zip(calls, responses, strict=True):
        by_request[path.split("/")[4]][response.status_code] += 1
    for rid, statuses in by_request.items():
        assert statuses == {200: SEND_LIMIT - 1, 429: CALLS_PER_REQUEST - SEND_LIMIT + 1}, rid

    url = deployment["url"]
    for rid in request_ids:
        verifications = _rows(
            url,
            "SELECT active FROM verifications WHERE CAST(declaration_request_id AS TEXT) = :rid",
            rid=rid,
        )
        assert len(verifications) == SEND_LIMIT
        assert sum(1 for row in verifications if row.active) == 1

    rows = _wait_settled(url, request_ids)
    assert len(rows) == REQUESTS * SEND_LIMIT  # one SMS per code issued, nothing else
    sent_ids = {str(row.id) for row in rows if row.status == "sent"}
    assert {row.status for row in rows} <= {"sent", "canceled"}
    # Four processes append to one file: every line must be one whole JSON record.
    delivered = Counter(line["message_id"] for line in sms_lines(deployment["sms_file"]))
    ours = {mid: n for mid, n in delivered.items() if mid in sent_ids}
    assert set(ours) == sent_ids and set(ours.values()) == {1}


def test_50_concurrent_approvals_approve_once_and_count_attempts_exactly(
    deployment: dict[str, Any],
) -> None:
    server: Server = deployment["server"]
    right_person, wrong_person = deployment["person_ids"][REQUESTS : REQUESTS + 2]
    with httpx.Client(base_url=server.base, headers=deployment["headers"], timeout=30) as client:
        right_id = _create(deployment, client, right_person)
        wrong_id = _create(deployment, client, wrong_person)
    url = deployment["url"]
    _wait_settled(url, [right_id, wrong_id])
    texts = {
        line["declaration_request_id"]: line["text"] for line in sms_lines(deployment["sms_file"])
    }
    code = int(texts[right_id].rsplit(" ", 1)[-1])
    wrong = 99999999 if code != 99999999 else 11111111

    approve = "/api/v3/declaration_requests/{}/actions/approve"
    responses = asyncio.run(
        _fire(
            server.base,
            deployment["headers"],
            [("PATCH", approve.format(right_id), {"verification_code": code})] * 50
            + [("PATCH", approve.format(wrong_id), {"verification_code": wrong})] * 50,
        )
    )
    right, wrong_answers = responses[:50], responses[50:]
    assert Counter(r.status_code for r in right) == {200: 1, 409: 49}
    messages = Counter(r.json()["error"]["message"] for r in wrong_answers)
    assert messages == {"Invalid verification code": 3, "Maximum attempts exceed": 47}
    (verification,) = _rows(
        url,
        "SELECT attempts_count, status, active FROM verifications "
        "WHERE CAST(declaration_request_id AS TEXT) = :rid",
        rid=wrong_id,
    )
    assert (verification.attempts_count, verification.status, verification.active) == (
        3,
        "UNVERIFIED",
        False,
    )
    (request,) = _rows(
        url, "SELECT status FROM declaration_requests WHERE CAST(id AS TEXT) = :rid", rid=right_id
    )
    assert request.status == "APPROVED"


def test_hot_path_lookups_use_indexes(deployment: dict[str, Any]) -> None:
    """Every lookup resend_otp, approve, the relay and auth make is served by an index."""
    lookups = {
        "request by id": "SELECT * FROM declaration_requests WHERE id = '{ID}'",
        "phone sends": "SELECT inserted_at FROM verifications "
        "WHERE phone_number = '+380670000001' AND inserted_at > now() - interval '1 day'",
        "latest code of a request": "SELECT * FROM verifications "
        "WHERE declaration_request_id = '{ID}' ORDER BY inserted_at DESC LIMIT 1",
        "active code of a phone": "UPDATE verifications SET active = false "
        "WHERE active AND phone_number = '+380670000001'",
        "due SMS": "SELECT * FROM sms_messages WHERE status = 'queued' "
        "AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 50",
        "token": "SELECT * FROM api_tokens WHERE token_hash = 'x'",
        "list": "SELECT * FROM declaration_requests WHERE legal_entity_id = '{ID}' "
        "AND status = 'NEW' ORDER BY inserted_at DESC LIMIT 50",
        "phone lock": "INSERT INTO phone_send_states (phone_number, last_sent_at) "
        "VALUES ('x', now()) ON CONFLICT (phone_number) DO UPDATE "
        "SET last_sent_at = excluded.last_sent_at",
    }
    engine = sa.create_engine(deployment["url"])
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")
            for name, query in lookups.items():
                explain = f"EXPLAIN {query.replace('{ID}', SOME_ID)}"
                plan = "\n".join(row[0] for row in connection.exec_driver_sql(explain).all())
                assert "Index" in plan, f"{name}:\n{plan}"
            connection.rollback()
    finally:
        engine.dispose()
