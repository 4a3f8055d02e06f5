"""The OTP verification API (initialize, complete, verified phone) through HTTP."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import select

from declaration_otp.tables import SmsMessage, Verification
from tests.conftest import World, random_phone

ISO_USEC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _init(world: World, phone: str, headers: dict[str, str] | None = None) -> Any:
    return world.backend.client.post(
        "/api/verifications",
        json={"phone_number": phone},
        headers=headers if headers is not None else world.headers,
    )


def _complete(world: World, phone: str, code: Any, headers: dict[str, str] | None = None) -> Any:
    return world.backend.client.patch(
        f"/api/verifications/{phone}/actions/complete",
        json={"code": code},
        headers=headers if headers is not None else world.headers,
    )


def _verified(world: World, phone: str) -> Any:
    return world.backend.client.get(
        f"/api/verifications/{phone}", headers=world.token_with(["otp:read"])
    )


def _code(world: World, verification_id: str) -> int:
    return world.backend.code_of(verification_id)


def test_initialize_queues_one_sms_and_stores_only_a_hash(world: World) -> None:
    phone = random_phone()
    response = _init(world, phone)
    assert response.status_code == 201, response.text
    body = response.json()
    data = body["data"]
    assert set(data) == {"id", "status", "code_expired_at", "active"}
    assert data["status"] == "NEW" and data["active"] is True
    assert ISO_USEC_Z.match(data["code_expired_at"])
    assert body["meta"]["url"].endswith(f"/api/verifications/{data['id']}")
    sms = world.backend.wait_for_sms(data["id"])
    assert sms["phone_number"] == phone and sms["declaration_request_id"] is None
    code = str(_code(world, data["id"]))
    row = world.backend.read(lambda s: s.get(Verification, uuid.UUID(data["id"])))
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_complete_with_the_right_code_verifies_the_phone(world: World) -> None:
    phone = random_phone()
    assert _verified(world, phone).status_code == 404
    data = _init(world, phone).json()["data"]
    response = _complete(world, phone, _code(world, data["id"]))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {**data, "status": "VERIFIED", "active": False}
    verified = _verified(world, phone)
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["phone_number"] == phone[:6] + "*****" + phone[-2:]
    again = _complete(world, phone, _code(world, data["id"]))
    assert again.status_code == 403
    assert again.json()["error"] == {"type": "forbidden", "message": "Maximum attempts exceed"}


def test_wrong_codes_use_attempts_then_maximum_attempts_exceed(world: World) -> None:
    phone = random_phone()
    data = _init(world, phone).json()["data"]
    right = _code(world, data["id"])
    wrong = right + 1 if right < 99999 else right - 1
    messages = [_complete(world, phone, wrong).json()["error"]["message"] for _ in range(3)]
    assert messages == ["Invalid verification code"] * 3
    last = _complete(world, phone, right)
    assert last.status_code == 403
    assert last.json()["error"] == {"type": "forbidden", "message": "Maximum attempts exceed"}
    assert _verified(world, phone).status_code == 404


def test_expired_code_is_403_verification_code_expired(world: World) -> None:
    phone = random_phone()
    data = _init(world, phone).json()["data"]
    code = _code(world, data["id"])
    world.backend.clock.advance(world.backend.settings.otp_ttl_seconds + 1)
    response = _complete(world, phone, code)
    assert response.status_code == 403
    assert response.json()["error"] == {"type": "forbidden", "message": "Verification code expired"}


def test_a_new_code_replaces_the_old_one(world: World) -> None:
    phone = random_phone()
    first = _init(world, phone).json()["data"]
    old_code = _code(world, first["id"])
    world.backend.clock.advance(61)
    second = _init(world, phone).json()["data"]
    assert _complete(world, phone, old_code).status_code == 403 or old_code == _code(
        world, second["id"]
    )
    assert _complete(world, phone, _code(world, second["id"])).status_code == 200


def test_no_verification_is_404(world: World) -> None:
    response = _complete(world, random_phone(), 1234)
    assert response.status_code == 404
    assert response.json()["error"] == {"type": "not_found", "message": "Verification not found"}


def test_send_limits_are_shared_with_the_declaration_flow(world: World) -> None:
    phone = random_phone()
    assert _init(world, phone).status_code == 201
    again = _init(world, phone)
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) > 0


@pytest.mark.parametrize("phone", ["380936235985", "+38093", "+3809362359851234567", "+38093abc"])
def test_invalid_phone_is_422_and_nothing_is_queued(world: World, phone: str) -> None:
    before = world.backend.read(lambda s: len(s.exec(select(SmsMessage.id)).all()))
    response = _init(world, phone)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert [entry["entry"] for entry in error["invalid"]] == ["$.phone_number"]
    assert world.backend.read(lambda s: len(s.exec(select(SmsMessage.id)).all())) == before


def test_prefix_not_allowed_is_422_before_anything_is_queued(world: World) -> None:
    before = world.backend.read(lambda s: len(s.exec(select(SmsMessage.id)).all()))
    response = _init(world, "+14155550100")
    assert response.status_code == 422
    (entry,) = response.json()["error"]["invalid"]
    assert entry["entry"] == "$.phone_number"
    assert entry["rules"] == [
        {
            "rule": "invalid",
            "description": "phone number prefix is not allowed for SMS",
            "params": ["+380"],
        }
    ]
    assert world.backend.read(lambda s: len(s.exec(select(SmsMessage.id)).all())) == before
    path = world.backend.client.get(
        "/api/verifications/+14155550100", headers=world.token_with(["otp:read"])
    )
    assert path.status_code == 422
    assert path.json()["error"]["invalid"][0]["entry_type"] == "path_parameter"


def test_phone_in_the_path_may_be_percent_encoded(world: World) -> None:
    phone = random_phone()
    data = _init(world, phone).json()["data"]
    encoded = phone.replace("+", "%2B")
    response = _complete(world, encoded, _code(world, data["id"]))
    assert response.status_code == 200, response.text


def test_scopes(world: World) -> None:
    phone = random_phone()
    reader = world.token_with(["otp:read"])
    assert _init(world, phone, headers=reader).status_code == 403
    writer_only = world.token_with(["otp:write"])
    response = world.backend.client.get(f"/api/verifications/{phone}", headers=writer_only)
    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith("Missing allowances: otp:read")
    assert _init(world, phone, headers={}).status_code == 401


def test_concurrent_wrong_codes_never_exceed_max_attempts(world: World) -> None:
    phone = random_phone()
    data = _init(world, phone).json()["data"]
    right = _code(world, data["id"])
    wrong = right + 1 if right < 99999 else right - 1
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: _complete(world, phone, wrong).status_code, range(6)))
    assert statuses == [403] * 6
    row = world.backend.read(lambda s: s.get(Verification, uuid.UUID(data["id"])))
    assert row.attempts_count == world.backend.settings.otp_max_attempts
    assert row.status == "UNVERIFIED" and not row.active


def test_approving_a_declaration_records_the_verified_phone(world: World) -> None:
    request = world.create_ok()
    verification_id = world.active_verification_id(request["id"])
    response = world.approve(request["id"], world.backend.code_of(verification_id))
    assert response.status_code == 200, response.text
    assert _verified(world, world.otp_phone).status_code == 200
    # A declaration's code is approved only through its request, never through this API.
    assert _complete(world, world.otp_phone, 1234).status_code == 404
