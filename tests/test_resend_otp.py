"""POST /api/v3/declaration_requests/{id}/actions/resend_otp through HTTP."""

from __future__ import annotations

import re
import uuid

from tests.conftest import World

ISO_USEC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_resend_replaces_the_code_and_queues_one_sms(world: World) -> None:
    request = world.create_ok()
    first_id = world.active_verification_id(request["id"])
    world.backend.clock.advance(61)

    response = world.resend(request["id"], headers={**world.headers, "X-Request-ID": "r-1#7"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["code"] == 200
    assert body["meta"]["type"] == "object"
    assert body["meta"]["request_id"] == "r-1#7"
    assert response.headers["x-request-id"] == "r-1#7"
    data = body["data"]
    assert set(data) == {"id", "status", "code_expired_at", "active"}
    assert data["status"] == "NEW" and data["active"] is True
    assert ISO_USEC_Z.match(data["code_expired_at"])
    assert data["id"] != first_id
    verifications = {str(v.id): v for v in world.backend.verifications(request["id"])}
    assert verifications[first_id].status == "CANCELED" and not verifications[first_id].active
    assert world.active_verification_id(request["id"]) == data["id"]
    sms = world.backend.wait_for_sms(data["id"])
    assert sms["phone_number"] == world.otp_phone
    assert sms["declaration_request_id"] == request["id"]
    assert sms["text"].startswith("Код авторизації дій в системі eHealth: ")


def test_resend_inside_cooldown_is_429_and_changes_nothing(world: World) -> None:
    request = world.create_ok()
    before = world.backend.verifications(request["id"])

    response = world.resend(request["id"])

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"]["type"] == "too_many_requests"
    after = world.backend.verifications(request["id"])
    # The code a new one would have replaced is still the active one, untouched.
    assert [(v.id, v.status, v.active) for v in after] == [
        (v.id, v.status, v.active) for v in before
    ]
    assert len(world.backend.sms_messages(request["id"])) == 1


def test_unknown_and_foreign_requests_are_the_same_404(world: World, other_world: World) -> None:
    foreign = other_world.create_ok()
    missing = world.resend(str(uuid.uuid4()))
    hidden = world.resend(foreign["id"])
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["error"] == hidden.json()["error"]
    assert missing.json()["error"]["type"] == "not_found"


def test_malformed_id_is_422_naming_the_id(world: World) -> None:
    response = world.resend("not-a-uuid")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert [entry["entry"] for entry in error["invalid"]] == ["$.id"]


def test_status_not_new_is_422_incorrect_status(world: World) -> None:
    request = world.create_ok()
    assert world.reject(request["id"]).status_code == 200
    response = world.resend(request["id"])
    assert response.status_code == 422
    (entry,) = response.json()["error"]["invalid"]
    assert entry["entry"] == "$.status"
    assert entry["rules"] == [{"rule": "invalid", "description": "incorrect status", "params": []}]


def test_offline_method_is_422_not_otp(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = world.resend(request["id"])
    assert response.status_code == 422
    (entry,) = response.json()["error"]["invalid"]
    assert entry["entry"] == "$.authentication_method_current"
    assert entry["rules"][0]["description"] == "Auth method is not OTP"


def test_missing_token_is_401_and_wrong_scope_is_403(world: World) -> None:
    request = world.create_ok()
    anonymous = world.resend(request["id"], headers={})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "access_denied"
    bogus = world.resend(request["id"], headers={"Authorization": "Bearer dotp_nope"})
    assert bogus.status_code == 401
    reader = world.resend(request["id"], headers=world.token_with(["declaration_request:read"]))
    assert reader.status_code == 403
    assert reader.json()["error"] == {
        "type": "forbidden",
        "message": (
            "Your scope does not allow to access this resource. Missing allowances: otp:write"
        ),
    }


def test_expired_token_is_401(world: World) -> None:
    request = world.create_ok()
    short_lived = world.token_with(["otp:write"], ttl_seconds=30)
    world.backend.clock.advance(61)
    response = world.resend(request["id"], headers=short_lived)
    assert response.status_code == 401
    assert response.json()["error"] == {"type": "access_denied", "message": "Invalid access token"}
