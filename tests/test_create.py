"""POST /api/v3/declaration_requests through HTTP."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlmodel import Session, select

from declaration_otp.errors import VALIDATION_MESSAGE
from declaration_otp.tables import (
    AuthenticationMethod,
    DeclarationRequest,
    Division,
    Employee,
    LegalEntity,
    Verification,
)
from tests.conftest import Backend, World

URL = "/api/v3/declaration_requests"
DECLARATION_NUMBER = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d$")


def masked(phone: str) -> str:
    return f"{phone[:6]}*****{phone[-2:]}"


def entries(response: Any) -> list[str]:
    return [entry["entry"] for entry in response.json()["error"]["invalid"]]


def requests_of_person(backend: Backend, person_id: str) -> list[DeclarationRequest]:
    pid = uuid.UUID(person_id)
    return backend.read(  # type: ignore[no-any-return]
        lambda s: list(
            s.exec(select(DeclarationRequest).where(DeclarationRequest.person_id == pid)).all()
        )
    )


def verifications_of_phone(backend: Backend, phone: str) -> list[Verification]:
    return backend.read(  # type: ignore[no-any-return]
        lambda s: list(s.exec(select(Verification).where(Verification.phone_number == phone)).all())
    )


def otp_method_id(backend: Backend, person_id: str) -> str:
    pid = uuid.UUID(person_id)
    method = backend.read(
        lambda s: s.exec(
            select(AuthenticationMethod).where(AuthenticationMethod.person_id == pid)
        ).one()
    )
    return str(method.id)


def test_create_returns_201_with_the_new_request_and_masked_method(world: World) -> None:
    response = world.create()

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"meta", "data", "urgent"}
    assert body["meta"]["code"] == 201
    assert body["meta"]["type"] == "object"
    data = body["data"]
    assert UUID_RE.match(data["id"])
    assert data["status"] == "NEW"
    assert data["person_id"] == world.otp_person_id
    assert data["employee_id"] == world.doctor_id
    assert data["division_id"] == world.division_id
    assert data["legal_entity_id"] == world.legal_entity_id
    assert DECLARATION_NUMBER.match(data["declaration_number"])
    assert UUID_RE.match(data["declaration_id"]) and data["declaration_id"] != data["id"]
    assert DATE_RE.match(data["start_date"]) and DATE_RE.match(data["end_date"])
    assert data["end_date"] > data["start_date"]
    assert data["channel"] == "MIS"
    assert data["authorize_with"] == otp_method_id(world.backend, world.otp_person_id)
    assert data["parent_declaration_id"] is None
    current = {"type": "OTP", "number": masked(world.otp_phone)}
    assert data["authentication_method_current"] == current
    assert body["urgent"] == {"authentication_method_current": current}
    signed = data["data_to_be_signed"]
    assert signed["id"] == data["id"]
    assert signed["declaration_number"] == data["declaration_number"]
    assert signed["person"]["id"] == world.otp_person_id
    assert signed["person"]["authentication_methods"] == [
        {"type": "OTP", "phone_number": masked(world.otp_phone)}
    ]
    assert signed["employee"]["id"] == world.doctor_id
    assert signed["division"]["id"] == world.division_id
    assert signed["legal_entity"]["id"] == world.legal_entity_id
    assert world.otp_phone not in response.text


def test_masked_number_is_first_six_five_stars_last_two(world: World) -> None:
    data = world.create_ok()
    number = data["authentication_method_current"]["number"]
    assert re.fullmatch(r"\+38093\*{5}\d\d", number)
    assert number == world.otp_phone[:6] + "*****" + world.otp_phone[-2:]


def test_create_queues_exactly_one_verification_and_one_sms(world: World) -> None:
    data = world.create_ok()

    verifications = world.backend.verifications(data["id"])
    assert len(verifications) == 1
    (verification,) = verifications
    assert verification.status == "NEW" and verification.active
    assert verification.attempts_count == 0
    assert verification.phone_number == world.otp_phone
    sms = world.backend.sms_messages(data["id"])
    assert len(sms) == 1
    assert sms[0].verification_id == verification.id
    record = world.backend.wait_for_sms(str(verification.id))
    assert record["phone_number"] == world.otp_phone
    assert re.fullmatch(r"Код авторизації дій в системі eHealth: [1-9]\d{5}", record["text"])


def test_unknown_person_is_404_not_found(world: World) -> None:
    response = world.create(str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.json()["error"] == {"type": "not_found", "message": "Such person doesn't exist"}


def test_unknown_employee_and_division_are_one_422_naming_both(world: World) -> None:
    body = {
        "person_id": world.otp_person_id,
        "employee_id": str(uuid.uuid4()),
        "division_id": str(uuid.uuid4()),
    }
    response = world.backend.client.post(URL, json=body, headers=world.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert error["message"] == VALIDATION_MESSAGE
    assert sorted(entries(response)) == ["$.division_id", "$.employee_id"]
    assert requests_of_person(world.backend, world.otp_person_id) == []


def test_employee_and_division_of_another_legal_entity_are_422(
    world: World, other_world: World
) -> None:
    body = {
        "person_id": world.otp_person_id,
        "employee_id": other_world.doctor_id,
        "division_id": other_world.division_id,
    }
    response = world.backend.client.post(URL, json=body, headers=world.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "validation_failed"
    assert sorted(entries(response)) == ["$.division_id", "$.employee_id"]
    assert requests_of_person(world.backend, world.otp_person_id) == []


def test_foreign_division_alone_names_only_division(world: World, other_world: World) -> None:
    response = world.create(division_id=other_world.division_id)
    assert response.status_code == 422
    assert entries(response) == ["$.division_id"]


def test_authorize_with_not_of_the_person_is_422(world: World) -> None:
    foreign_method = otp_method_id(world.backend, world.offline_person_id)
    response = world.create(authorize_with=foreign_method)
    assert response.status_code == 422, response.text
    (entry,) = response.json()["error"]["invalid"]
    assert entry["entry"] == "$.authorize_with"
    assert verifications_of_phone(world.backend, world.otp_phone) == []


def test_authorize_with_own_method_is_used(world: World) -> None:
    own = otp_method_id(world.backend, world.otp_person_id)
    data = world.create_ok(authorize_with=own)
    assert data["authorize_with"] == own
    assert data["authentication_method_current"]["type"] == "OTP"


def test_offline_person_gets_no_code_and_no_sms(world: World) -> None:
    response = world.create(world.offline_person_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["urgent"] == {"authentication_method_current": {"type": "OFFLINE", "number": None}}
    assert body["data"]["authentication_method_current"] == {"type": "OFFLINE", "number": None}
    assert world.backend.verifications(body["data"]["id"]) == []
    assert world.backend.sms_messages(body["data"]["id"]) == []


def test_new_request_cancels_the_earlier_one_and_its_code(world: World) -> None:
    first = world.create_ok()
    first_verification = world.active_verification_id(first["id"])
    world.backend.clock.advance(61)

    second = world.create_ok()

    rows = {str(r.id): r for r in requests_of_person(world.backend, world.otp_person_id)}
    assert rows[first["id"]].status == "CANCELLED"
    assert rows[second["id"]].status == "NEW"
    (old,) = world.backend.verifications(first["id"])
    assert str(old.id) == first_verification
    assert old.status == "CANCELED" and not old.active
    active = [v for v in verifications_of_phone(world.backend, world.otp_phone) if v.active]
    assert [str(v.declaration_request_id) for v in active] == [second["id"]]


def test_missing_fields_are_all_listed(world: World) -> None:
    response = world.backend.client.post(URL, json={}, headers=world.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert sorted(entries(response)) == ["$.division_id", "$.employee_id", "$.person_id"]
    for entry in error["invalid"]:
        assert entry["entry_type"] == "json_data_property"
        assert entry["rules"][0]["rule"] == "required"


def test_extra_field_non_uuid_and_missing_field_in_one_response(world: World) -> None:
    body = {"person_id": "not-a-uuid", "employee_id": world.doctor_id, "colour": "blue"}
    response = world.backend.client.post(URL, json=body, headers=world.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "validation_failed"
    assert sorted(entries(response)) == ["$.colour", "$.division_id", "$.person_id"]


def test_extra_field_alone_is_422(world: World) -> None:
    response = world.create(unexpected=True)
    assert response.status_code == 422
    assert entries(response) == ["$.unexpected"]


def test_non_uuid_ids_are_each_listed(world: World) -> None:
    body = {"person_id": "x", "employee_id": "123", "division_id": 5}
    response = world.backend.client.post(URL, json=body, headers=world.headers)
    assert response.status_code == 422
    assert sorted(entries(response)) == ["$.division_id", "$.employee_id", "$.person_id"]


def test_broken_json_is_400_request_malformed(world: World) -> None:
    response = world.backend.client.post(
        URL,
        content=b'{"person_id": ',
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == {
        "type": "request_malformed",
        "message": "Malformed request. Probably, you have sent corrupted JSON.",
    }


def test_text_plain_body_is_415(world: World) -> None:
    response = world.backend.client.post(
        URL, content=b"person_id=1", headers={**world.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["meta"]["code"] == 415
    assert body["error"]["type"] == "content_type_invalid"


def test_create_without_write_scope_is_403(world: World) -> None:
    response = world.backend.client.post(
        URL,
        json={
            "person_id": world.otp_person_id,
            "employee_id": world.doctor_id,
            "division_id": world.division_id,
        },
        headers=world.token_with(["declaration_request:read"]),
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. "
        "Missing allowances: declaration_request:write",
    }


def test_create_inside_phone_cooldown_is_429_and_writes_nothing(world: World) -> None:
    first = world.create_ok()
    before_requests = requests_of_person(world.backend, world.otp_person_id)
    before_verifications = verifications_of_phone(world.backend, world.otp_phone)
    world.backend.clock.advance(30)

    response = world.create()

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 30
    assert response.json()["error"] == {"type": "too_many_requests", "message": "too many requests"}
    after_requests = requests_of_person(world.backend, world.otp_person_id)
    assert [(str(r.id), r.status) for r in after_requests] == [
        (str(r.id), r.status) for r in before_requests
    ]
    assert [r.status for r in after_requests] == ["NEW"]
    after_verifications = verifications_of_phone(world.backend, world.otp_phone)
    assert [(v.id, v.status, v.active) for v in after_verifications] == [
        (v.id, v.status, v.active) for v in before_verifications
    ]
    assert len(world.backend.sms_messages(first["id"])) == 1


def test_sixth_code_in_ten_minutes_is_429_until_the_oldest_leaves_the_window(
    world: World,
) -> None:
    for _ in range(5):
        world.create_ok()
        world.backend.clock.advance(61)
    # Five codes sent at t=0, 61, 122, 183, 244; now t=305, cooldown is over.
    assert len(verifications_of_phone(world.backend, world.otp_phone)) == 5

    response = world.create()

    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 600 - 305 - 2 <= retry_after <= 600 - 305 + 1
    assert response.json()["error"]["type"] == "too_many_requests"
    assert len(verifications_of_phone(world.backend, world.otp_phone)) == 5
    assert len(requests_of_person(world.backend, world.otp_person_id)) == 5


def test_inactive_employee_and_division_are_422(world: World) -> None:
    employee_id, division_id = uuid.uuid4(), uuid.uuid4()
    le = uuid.UUID(world.legal_entity_id)

    def seed(session: Session) -> None:
        assert session.get(LegalEntity, le) is not None
        session.add(
            Employee(
                id=employee_id,
                legal_entity_id=le,
                employee_type="DOCTOR",
                position="P2",
                status="DISMISSED",
                first_name="Іван",
                last_name="Сидоренко",
            )
        )
        session.add(Division(id=division_id, legal_entity_id=le, name="Закрите", status="CLOSED"))

    world.backend.write(seed)
    response = world.create(employee_id=str(employee_id), division_id=str(division_id))
    assert response.status_code == 422
    assert sorted(entries(response)) == ["$.division_id", "$.employee_id"]
