"""PATCH /api/v3/declaration_requests/{id}/actions/approve through HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlmodel import Session

from declaration_otp.tables import AuthenticationMethod, Person, Verification
from tests.conftest import World, make_world, random_phone

INVALID_CODE = {"type": "forbidden", "message": "Invalid verification code"}
EXPIRED = {"type": "forbidden", "message": "Verification code expired"}
EXHAUSTED = {"type": "forbidden", "message": "Maximum attempts exceed"}


def only_verification(world: World, request_id: str) -> Verification:
    (verification,) = world.backend.verifications(request_id)
    return verification


def code_for(world: World, request_id: str) -> int:
    return world.backend.code_of(world.active_verification_id(request_id))


def wrong(code: int) -> int:
    return 100000 + (code - 100000 + 1) % 900000


def add_otp_person(world: World) -> tuple[str, str]:
    """A second OTP patient (own phone) in the same legal entity."""
    person_id, phone = uuid.uuid4(), random_phone()

    def seed(session: Session) -> None:
        session.add(
            Person(
                id=person_id,
                first_name="Ганна",
                last_name="Мельник",
                birth_date=dt.date(1985, 3, 2),
            )
        )
        session.flush()
        session.add(
            AuthenticationMethod(
                id=uuid.uuid4(), person_id=person_id, position=0, type="OTP", phone_number=phone
            )
        )

    world.backend.write(seed)
    return str(person_id), phone


def approve_raw(world: World, request_id: str, **kwargs: Any) -> Any:
    return world.backend.client.patch(
        f"/api/v3/declaration_requests/{request_id}/actions/approve",
        headers=kwargs.pop("headers", world.headers),
        **kwargs,
    )


def test_right_code_approves_and_verifies(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])

    response = world.approve(request["id"], code)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["code"] == 200 and body["meta"]["type"] == "object"
    data = body["data"]
    assert data["id"] == request["id"]
    assert data["status"] == "APPROVED"
    assert data["data_to_be_signed"] == request["data_to_be_signed"]
    assert data["authentication_method_current"] == request["authentication_method_current"]
    verification = only_verification(world, request["id"])
    assert verification.status == "VERIFIED"
    assert not verification.active
    assert verification.attempts_count == 1


def test_wrong_code_is_422_forbidden_and_counts_an_attempt(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])

    response = world.approve(request["id"], wrong(code))

    assert response.status_code == 422
    assert response.json()["error"] == INVALID_CODE
    verification = only_verification(world, request["id"])
    assert verification.attempts_count == 1
    assert verification.active and verification.status == "NEW"
    assert (
        world.backend.client.get(
            f"/api/v3/declaration_requests/{request['id']}", headers=world.headers
        ).json()["data"]["status"]
        == "NEW"
    )


def test_right_code_after_one_wrong_still_approves(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    assert world.approve(request["id"], wrong(code)).json()["error"] == INVALID_CODE
    response = world.approve(request["id"], code)
    assert response.status_code == 200
    assert only_verification(world, request["id"]).attempts_count == 2


def test_three_wrong_codes_exhaust_the_verification(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])

    answers = [world.approve(request["id"], wrong(code)) for _ in range(3)]
    final = world.approve(request["id"], code)

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert [a.json()["error"] for a in answers] == [INVALID_CODE] * 3
    assert final.status_code == 422
    assert final.json()["error"] == EXHAUSTED
    verification = only_verification(world, request["id"])
    assert verification.status == "UNVERIFIED"
    assert not verification.active
    assert verification.attempts_count == 3


def test_expired_code_is_rejected_and_counts_as_an_attempt(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])  # read before time moves: the relay drops expired SMS
    world.backend.clock.advance(301)

    response = world.approve(request["id"], code)

    assert response.status_code == 422
    assert response.json()["error"] == EXPIRED
    verification = only_verification(world, request["id"])
    assert verification.attempts_count == 1
    assert verification.status != "VERIFIED"


def test_expired_attempts_also_exhaust(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    world.backend.clock.advance(301)
    errors = [world.approve(request["id"], code).json()["error"] for _ in range(4)]
    assert errors == [EXPIRED, EXPIRED, EXPIRED, EXHAUSTED]
    assert only_verification(world, request["id"]).status == "UNVERIFIED"


def resend_until_code_differs(world: World, request_id: str, other_code: int) -> tuple[str, int]:
    """Resend until the new code differs from `other_code` (equal 6-digit codes are a 1e-6 chance
    that would make a wrong-code check meaningless); returns the verification id and its code."""
    while True:
        world.backend.clock.advance(61)  # past the resend cooldown
        resent = world.resend(request_id)
        assert resent.status_code == 200, resent.text
        verification_id = resent.json()["data"]["id"]
        code = world.backend.code_of(verification_id)
        if code != other_code:
            return verification_id, code


def test_after_resend_only_the_new_code_works(world: World) -> None:
    request = world.create_ok()
    old_code = code_for(world, request["id"])
    new_id, new_code = resend_until_code_differs(world, request["id"], old_code)

    stale = world.approve(request["id"], old_code)
    fresh = world.approve(request["id"], new_code)

    assert stale.status_code == 422
    assert stale.json()["error"] == INVALID_CODE
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["data"]["status"] == "APPROVED"
    statuses = {str(v.id): v.status for v in world.backend.verifications(request["id"])}
    assert statuses.pop(new_id) == "VERIFIED"
    assert set(statuses.values()) == {"CANCELED"}


def test_code_of_one_request_never_approves_another(world: World) -> None:
    second_person, _ = add_otp_person(world)
    a = world.create_ok()
    b = world.create_ok(second_person)
    code_a, code_b = code_for(world, a["id"]), code_for(world, b["id"])
    if code_a == code_b:
        _, code_b = resend_until_code_differs(world, b["id"], code_a)

    response = world.approve(b["id"], code_a)

    assert response.status_code == 422
    assert response.json()["error"] == INVALID_CODE
    assert world.approve(b["id"], code_b).status_code == 200
    assert world.approve(a["id"], code_a).status_code == 200


def test_code_of_another_legal_entitys_request_never_approves(world: World) -> None:
    other = make_world(world.backend)
    mine = world.create_ok()
    theirs = other.create_ok()
    their_code = code_for(other, theirs["id"])
    my_code = code_for(world, mine["id"])
    if my_code == their_code:
        _, my_code = resend_until_code_differs(world, mine["id"], their_code)

    assert world.approve(mine["id"], their_code).json()["error"] == INVALID_CODE
    # And their request is invisible to this legal entity, code or not.
    assert world.approve(theirs["id"], their_code).status_code == 404
    assert other.approve(theirs["id"], their_code).status_code == 200


def test_approving_an_approved_request_is_409(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    assert world.approve(request["id"], code).status_code == 200

    response = world.approve(request["id"], code)

    assert response.status_code == 409
    assert response.json()["error"] == {"type": "request_conflict", "message": "Invalid transition"}


def test_approving_a_rejected_request_is_409(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    assert world.reject(request["id"]).status_code == 200

    response = world.approve(request["id"], code)

    assert response.status_code == 409
    assert response.json()["error"] == {"type": "request_conflict", "message": "Invalid transition"}


def test_approving_a_cancelled_request_is_409(world: World) -> None:
    first = world.create_ok(world.offline_person_id)
    world.create_ok(world.offline_person_id)
    response = world.approve(first["id"], None)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Invalid transition"


def test_otp_request_without_code_is_422_naming_verification_code(world: World) -> None:
    request = world.create_ok()

    response = world.approve(request["id"], None)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    (entry,) = error["invalid"]
    assert entry["entry"] == "$.verification_code"
    assert entry["rules"][0]["rule"] == "required"
    verification = only_verification(world, request["id"])
    assert verification.attempts_count == 0 and verification.active


def test_otp_request_with_absent_body_is_422_naming_verification_code(world: World) -> None:
    request = world.create_ok()
    response = approve_raw(world, request["id"])
    assert response.status_code == 422, response.text
    assert [e["entry"] for e in response.json()["error"]["invalid"]] == ["$.verification_code"]


def test_offline_request_approves_with_empty_body(world: World) -> None:
    request = world.create_ok(world.offline_person_id)

    response = world.approve(request["id"], None)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "APPROVED"
    assert response.json()["data"]["authentication_method_current"] == {
        "type": "OFFLINE",
        "number": None,
    }


def test_offline_request_approves_without_a_body(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = approve_raw(world, request["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "APPROVED"


def test_string_code_is_422_validation_failed(world: World) -> None:
    request = world.create_ok()

    response = approve_raw(world, request["id"], json={"verification_code": "1234"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert [e["entry"] for e in error["invalid"]] == ["$.verification_code"]
    assert only_verification(world, request["id"]).attempts_count == 0


def test_extra_body_property_is_422(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    response = approve_raw(world, request["id"], json={"verification_code": code, "pin": 1})
    assert response.status_code == 422
    assert [e["entry"] for e in response.json()["error"]["invalid"]] == ["$.pin"]
    assert only_verification(world, request["id"]).active


def test_missing_approve_scope_is_403(world: World) -> None:
    request = world.create_ok()
    code = code_for(world, request["id"])
    headers = world.token_with(
        ["declaration_request:write", "declaration_request:read", "otp:write"]
    )

    response = world.approve(request["id"], code, headers=headers)

    assert response.status_code == 403
    assert response.json()["error"] == {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. "
        "Missing allowances: declaration_request:approve",
    }
    verification = only_verification(world, request["id"])
    assert verification.attempts_count == 0 and verification.active


def test_unknown_and_foreign_requests_are_404(world: World, other_world: World) -> None:
    foreign = other_world.create_ok(other_world.offline_person_id)
    missing = world.approve(str(uuid.uuid4()), None)
    hidden = world.approve(foreign["id"], None)
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["error"] == hidden.json()["error"]
    assert hidden.json()["error"]["type"] == "not_found"


def test_without_token_is_401(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = world.approve(request["id"], None, headers={})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "access_denied"
