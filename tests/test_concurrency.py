"""Simultaneous calls on one declaration request: the database keeps the flow's invariants."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import select

from declaration_otp.tables import Verification
from tests.conftest import World, random_phone

MAX_ATTEMPTS = 3


def all_at_once(count: int, call: Callable[[], Any]) -> list[Any]:
    """Run `call` in `count` threads released together by a barrier; their responses."""
    barrier = threading.Barrier(count)

    def worker() -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(worker) for _ in range(count)]
        return [future.result(timeout=120) for future in futures]


def test_twenty_simultaneous_resends_send_exactly_one_code(world: World) -> None:
    request = world.create_ok()
    first_id = world.active_verification_id(request["id"])
    world.backend.clock.advance(61)

    responses = all_at_once(20, lambda: world.resend(request["id"]))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 429: 19}, [r.text for r in responses if r.status_code != 429]
    (winner,) = [r for r in responses if r.status_code == 200]
    new_id = winner.json()["data"]["id"]
    for response in responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["type"] == "too_many_requests"
    verifications = world.backend.verifications(request["id"])
    assert len(verifications) == 2
    assert [str(v.id) for v in verifications if v.active] == [new_id]
    assert {str(v.id): v.status for v in verifications}[first_id] == "CANCELED"
    sms = world.backend.sms_messages(request["id"])
    assert len(sms) == 2
    assert [str(m.verification_id) for m in sms].count(new_id) == 1
    world.backend.wait_for_sms(new_id)
    delivered = [r for r in world.backend.sms_records() if r["verification_id"] == new_id]
    assert len(delivered) == 1


def test_simultaneous_codes_for_one_phone_pass_its_cooldown_once(world: World) -> None:
    # The verification API locks no declaration request: only the phone's own lock (PostgreSQL)
    # or the write lock (SQLite) keeps a second code from passing the same cooldown.
    phone = random_phone()

    responses = all_at_once(
        16,
        lambda: world.backend.client.post(
            "/api/verifications", json={"phone_number": phone}, headers=world.headers
        ),
    )

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 429: 15}, [r.text for r in responses if r.status_code != 429]
    (winner,) = [r for r in responses if r.status_code == 201]
    codes = world.backend.read(
        lambda session: session.exec(
            select(Verification).where(Verification.phone_number == phone)
        ).all()
    )
    assert [str(v.id) for v in codes] == [winner.json()["data"]["id"]]
    assert codes[0].active


def test_ten_simultaneous_right_codes_approve_exactly_once(world: World) -> None:
    request = world.create_ok()
    code = world.backend.code_of(world.active_verification_id(request["id"]))

    responses = all_at_once(10, lambda: world.approve(request["id"], code))

    statuses = Counter(response.status_code for response in responses)
    assert statuses[200] == 1, [r.text for r in responses]
    assert set(statuses) <= {200, 409, 422}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["message"] == "Invalid transition"
        elif response.status_code == 422:
            assert response.json()["error"]["type"] == "forbidden"
    fetched = world.backend.client.get(
        f"/api/v3/declaration_requests/{request['id']}", headers=world.headers
    )
    assert fetched.json()["data"]["status"] == "APPROVED"
    (verification,) = world.backend.verifications(request["id"])
    assert verification.status == "VERIFIED"
    assert verification.attempts_count == 1


def test_ten_simultaneous_wrong_codes_never_exceed_max_attempts(world: World) -> None:
    request = world.create_ok()
    code = world.backend.code_of(world.active_verification_id(request["id"]))
    wrong = 100000 + (code - 100000 + 1) % 900000

    responses = all_at_once(10, lambda: world.approve(request["id"], wrong))

    assert {r.status_code for r in responses} == {422}, [r.text for r in responses]
    messages = Counter(r.json()["error"]["message"] for r in responses)
    assert messages == {
        "Invalid verification code": MAX_ATTEMPTS,
        "Maximum attempts exceed": 10 - MAX_ATTEMPTS,
    }
    (verification,) = world.backend.verifications(request["id"])
    assert verification.attempts_count == MAX_ATTEMPTS
    assert verification.status == "UNVERIFIED" and not verification.active
    assert world.approve(request["id"], code).json()["error"]["message"] == (
        "Maximum attempts exceed"
    )


def test_simultaneous_creates_for_one_otp_patient_send_one_code(world: World) -> None:
    responses = all_at_once(10, lambda: world.create())

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 429: 9}, [r.text for r in responses]
    (created,) = [r.json()["data"] for r in responses if r.status_code == 201]
    listed = world.backend.client.get("/api/v3/declaration_requests", headers=world.headers).json()
    assert [item["id"] for item in listed["data"]] == [created["id"]]
    assert len(world.backend.verifications(created["id"])) == 1
    assert len(world.backend.sms_messages(created["id"])) == 1


def test_simultaneous_creates_for_one_offline_patient_leave_one_pending_request(
    world: World,
) -> None:
    # Several bursts: one lucky interleaving must not hide the race.
    for _ in range(8):
        responses = all_at_once(8, lambda: world.create(world.offline_person_id))
        assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
        listed = world.backend.client.get(
            "/api/v3/declaration_requests", params={"status": "NEW"}, headers=world.headers
        ).json()
        assert listed["paging"]["total_entries"] == 1
