"""GET /api/v3/declaration_requests/{id} and GET /api/v3/declaration_requests through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from declaration_otp.tables import Employee
from tests.conftest import World

URL = "/api/v3/declaration_requests"
SHORT_FIELDS = {
    "id",
    "status",
    "person_id",
    "employee_id",
    "division_id",
    "legal_entity_id",
    "declaration_id",
    "declaration_number",
    "start_date",
    "end_date",
    "channel",
    "inserted_at",
    "updated_at",
}


def get(world: World, request_id: str, headers: dict[str, str] | None = None) -> Any:
    return world.backend.client.get(
        f"{URL}/{request_id}", headers=headers if headers is not None else world.headers
    )


def listing(world: World, **params: Any) -> Any:
    return world.backend.client.get(URL, params=params, headers=world.headers)


def without_request_specifics(body: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in body["meta"].items() if k not in ("request_id", "url")}
    return {**body, "meta": meta}


def add_doctor(world: World) -> str:
    doctor_id = uuid.uuid4()

    def seed(session: Session) -> None:
        session.add(
            Employee(
                id=doctor_id,
                legal_entity_id=uuid.UUID(world.legal_entity_id),
                employee_type="DOCTOR",
                position="P2",
                first_name="Марія",
                last_name="Шевчук",
            )
        )

    world.backend.write(seed)
    return str(doctor_id)


# --- get by id ------------------------------------------------------------------------------


def test_get_own_request_is_200_with_masked_number(world: World) -> None:
    created = world.create_ok()

    response = get(world, created["id"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["code"] == 200
    assert body["meta"]["type"] == "object"
    assert body["meta"]["url"].endswith(f"{URL}/{created['id']}")
    data = body["data"]
    assert data["id"] == created["id"]
    assert data["status"] == "NEW"
    assert data["declaration_number"] == created["declaration_number"]
    masked = f"{world.otp_phone[:6]}*****{world.otp_phone[-2:]}"
    assert data["authentication_method_current"] == {"type": "OTP", "number": masked}
    assert data["data_to_be_signed"] == created["data_to_be_signed"]
    assert "urgent" not in body
    assert world.otp_phone not in response.text


def test_get_reflects_later_status_changes(world: World) -> None:
    created = world.create_ok()
    assert world.reject(created["id"]).status_code == 200
    assert get(world, created["id"]).json()["data"]["status"] == "REJECTED"


def test_other_legal_entitys_request_is_the_same_404_as_an_unknown_id(
    world: World, other_world: World
) -> None:
    foreign = other_world.create_ok()

    hidden = get(world, foreign["id"])
    missing = get(world, str(uuid.uuid4()))

    assert hidden.status_code == missing.status_code == 404
    assert without_request_specifics(hidden.json()) == without_request_specifics(missing.json())
    assert hidden.json()["error"] == {
        "type": "not_found",
        "message": "Declaration request not found",
    }
    assert hidden.headers["content-type"] == missing.headers["content-type"]
    assert foreign["id"] not in hidden.text.replace(hidden.json()["meta"]["url"], "")


def test_get_malformed_id_is_422_naming_the_id(world: World) -> None:
    response = get(world, "not-a-uuid")
    assert response.status_code == 422
    (entry,) = response.json()["error"]["invalid"]
    assert entry["entry"] == "$.id"
    assert entry["entry_type"] == "path_parameter"


def test_get_without_read_scope_is_403(world: World) -> None:
    created = world.create_ok()
    response = get(world, created["id"], headers=world.token_with(["declaration_request:write"]))
    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith(
        "Missing allowances: declaration_request:read"
    )


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_only_own_requests(world: World, other_world: World) -> None:
    own = world.create_ok()
    other_world.create_ok()

    response = listing(world)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["type"] == "list"
    assert body["meta"]["code"] == 200
    assert [item["id"] for item in body["data"]] == [own["id"]]
    assert body["paging"] == {
        "page_number": 1,
        "page_size": 50,
        "total_entries": 1,
        "total_pages": 1,
    }


def test_list_items_are_short(world: World) -> None:
    world.create_ok()
    (item,) = listing(world).json()["data"]
    assert set(item) == SHORT_FIELDS
    assert item["legal_entity_id"] == world.legal_entity_id


def test_list_is_empty_for_a_new_legal_entity(world: World) -> None:
    body = listing(world).json()
    assert body["data"] == []
    assert body["paging"]["total_entries"] == 0
    assert body["paging"]["page_number"] == 1


def test_list_filters_by_status(world: World) -> None:
    first = world.create_ok(world.offline_person_id)
    second = world.create_ok(world.offline_person_id)  # cancels `first`

    new = listing(world, status="NEW").json()
    cancelled = listing(world, status="CANCELLED").json()
    rejected = listing(world, status="REJECTED").json()

    assert [item["id"] for item in new["data"]] == [second["id"]]
    assert [item["id"] for item in cancelled["data"]] == [first["id"]]
    assert all(item["status"] == "CANCELLED" for item in cancelled["data"])
    assert rejected["data"] == [] and rejected["paging"]["total_entries"] == 0


def test_list_filters_by_employee(world: World) -> None:
    other_doctor = add_doctor(world)
    mine = world.create_ok(world.offline_person_id)
    theirs = world.create_ok(world.offline_person_id, employee_id=other_doctor)

    by_default_doctor = listing(world, employee_id=world.doctor_id).json()
    by_other_doctor = listing(world, employee_id=other_doctor).json()

    assert [item["id"] for item in by_default_doctor["data"]] == [mine["id"]]
    assert [item["id"] for item in by_other_doctor["data"]] == [theirs["id"]]
    assert by_other_doctor["data"][0]["employee_id"] == other_doctor


def test_list_combines_status_and_employee_filters(world: World) -> None:
    other_doctor = add_doctor(world)
    world.create_ok(world.offline_person_id)
    theirs = world.create_ok(world.offline_person_id, employee_id=other_doctor)
    world.reject(theirs["id"])

    body = listing(world, status="REJECTED", employee_id=other_doctor).json()
    assert [item["id"] for item in body["data"]] == [theirs["id"]]
    assert listing(world, status="REJECTED", employee_id=world.doctor_id).json()["data"] == []


def test_list_pages_newest_first(world: World) -> None:
    ids = []
    for _ in range(3):
        ids.append(world.create_ok(world.offline_person_id)["id"])
        world.backend.clock.advance(1)

    first = listing(world, page_size=2).json()
    second = listing(world, page_size=2, page=2).json()
    beyond = listing(world, page_size=2, page=3).json()

    assert first["paging"] == {
        "page_number": 1,
        "page_size": 2,
        "total_entries": 3,
        "total_pages": 2,
    }
    assert second["paging"] == {
        "page_number": 2,
        "page_size": 2,
        "total_entries": 3,
        "total_pages": 2,
    }
    assert [item["id"] for item in first["data"] + second["data"]] == ids[::-1]
    assert beyond["data"] == []


def test_list_accepts_page_size_bounds(world: World) -> None:
    assert listing(world, page_size=1).status_code == 200
    assert listing(world, page_size=300).status_code == 200


def test_page_size_zero_is_422_naming_page_size(world: World) -> None:
    response = listing(world, page_size=0)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert [(e["entry"], e["entry_type"]) for e in error["invalid"]] == [
        ("$.page_size", "query_parameter")
    ]


def test_page_size_301_is_422_naming_page_size(world: World) -> None:
    response = listing(world, page_size=301)
    assert response.status_code == 422
    assert [e["entry"] for e in response.json()["error"]["invalid"]] == ["$.page_size"]


def test_page_zero_and_bad_status_are_422_together(world: World) -> None:
    response = listing(world, page=0, status="PENDING", employee_id="nope")
    assert response.status_code == 422
    entries = sorted(e["entry"] for e in response.json()["error"]["invalid"])
    assert entries == ["$.employee_id", "$.page", "$.status"]


def test_unknown_query_parameter_is_422(world: World) -> None:
    response = listing(world, person_id=world.otp_person_id)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert [(e["entry"], e["entry_type"]) for e in error["invalid"]] == [
        ("$.person_id", "query_parameter")
    ]


def test_list_meta_url_has_no_query_string(world: World) -> None:
    body = listing(world, status="NEW", page_size=5).json()
    assert body["meta"]["url"] == f"http://testserver{URL}"


def test_list_without_read_scope_is_403(world: World) -> None:
    response = world.backend.client.get(
        URL, headers=world.token_with(["declaration_request:write"])
    )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"
