"""PostgreSQL restarted under load: clean 503s meanwhile, no lost or doubled SMS, self-healing."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.servers import PrivatePostgres, Server, cli, private_postgres, sms_lines, write_registry

PEOPLE = 10


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def deployment(
    postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("restart")
    sms_file = tmp / "sms.jsonl"
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "SECRET_KEY": "restart-test-secret-0123456789abc",
        "SMS_GATEWAY": "file",
        "SMS_FILE": str(sms_file),
        "OTP_RESEND_COOLDOWN_SECONDS": "0",
        "OTP_PHONE_SEND_LIMITS": "",
        "RELAY_POLL_SECONDS": "0.1",
        "RELAY_CLAIM_SECONDS": "20",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    registry_file = tmp / "registry.yaml"
    registry, person_ids = write_registry(registry_file, people=PEOPLE)
    cli(env, "migrate")
    cli(env, "registry", "load", str(registry_file))
    token = cli(
        env,
        "token", "issue", "--client-id", registry["legal_entities"][0]["id"],
        "--user-id", "restart", "--scope", "declaration_request:write otp:write",
    ).strip()  # fmt: skip
    server = Server(env, workers=2, log=tmp / "server.log")
    try:
        server.wait_ready()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            request_ids = []
            for person_id in person_ids:
                response = client.post(
                    "/api/v3/declaration_requests",
                    json={
                        "person_id": person_id,
                        "employee_id": registry["employees"][0]["id"],
                        "division_id": registry["divisions"][0]["id"],
                    },
                )
                assert response.status_code == 201, response.text
                request_ids.append(response.json()["data"]["id"])
        yield {
            "server": server,
            "headers": headers,
            "request_ids": request_ids,
            "sms_file": sms_file,
            "url": postgres.url,
        }
    finally:
        server.stop()


async def _load(
    base: str, headers: dict[str, str], request_ids: list[str], seconds: float
) -> list[Any]:
    """Resends at a steady pace, round robin over the requests, for `seconds`."""
    results: list[Any] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def one(request_id: str) -> None:
            try:
                response = await client.post(
                    f"/api/v3/declaration_requests/{request_id}/actions/resend_otp"
                )
                results.append((response.status_code, response.text))
            except httpx.HTTPError as error:
                results.append((0, repr(error)))

        tasks = []
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline:
            tasks.append(asyncio.create_task(one(request_ids[index % len(request_ids)])))
            index += 1
            await asyncio.sleep(0.02)
        await asyncio.gather(*tasks)
    return results


def test_restart_under_load(deployment: dict[str, Any], postgres: PrivatePostgres) -> None:
    server: Server = deployment["server"]
    restarter = threading.Timer(1.5, postgres.restart)
    restarter.start()
    results = asyncio.run(_load(server.base, deployment["headers"], deployment["request_ids"], 6.0))
    restarter.join()

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    for status, text in results:
        assert "Traceback" not in text
        if status == 503:
            assert '"type":"internal_error"' in text.replace(" ", "")

    # Healthy again without a restart of the service.
    deadline = time.monotonic() + 20
    while True:
        response = httpx.post(
            f"{server.base}/api/v3/declaration_requests/{deployment['request_ids'][0]}"
            "/actions/resend_otp",
            headers=deployment["headers"],
            timeout=10,
        )
        if response.status_code == 200:
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.5)

    # Every queued SMS settles: sent exactly once, or cancelled by a newer code; none lost.
    engine = sa.create_engine(deployment["url"])
    deadline = time.monotonic() + 60
    try:
        while True:
            with engine.connect() as connection:
                rows = connection.execute(sa.text("SELECT id, status FROM sms_messages")).all()
            pending = [row for row in rows if row.status in ("queued", "sending")]
            if not pending:
                break
            assert time.monotonic() < deadline, Counter(row.status for row in rows)
            time.sleep(0.2)
    finally:
        engine.dispose()
    assert {row.status for row in rows} <= {"sent", "canceled"}
    delivered = Counter(line["message_id"] for line in sms_lines(deployment["sms_file"]))
    sent = {str(row.id) for row in rows if row.status == "sent"}
    assert set(delivered) == sent
    assert max(delivered.values()) == 1, [m for m, n in delivered.items() if n > 1]
