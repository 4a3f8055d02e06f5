"""PATCH /api/v3/declaration_requests/{id}/actions/reject through HTTP."""

from __future__ import annotations

import uuid

from tests.conftest import World

CONFLICT = {"type": "request_conflict", "message": "Invalid transition"}


def test_reject_new_request_is_200_rejected_and_cancels_its_code(world: World) -> None:
    request = world.create_ok()
    verification_id = world.active_verification_id(request["id"])
    code = world.backend.code_of(verification_id)

    response = world.reject(request["id"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["code"] == 200 and body["meta"]["type"] == "object"
    assert body["data"]["id"] == request["id"]
    assert body["data"]["status"] == "REJECTED"
    (verification,) = world.backend.verifications(request["id"])
    assert str(verification.id) == verification_id
    assert verification.status == "CANCELED"
    assert not verification.active
    # The cancelled code cannot revive the request.
    assert world.approve(request["id"], code).status_code == 409


def test_reject_sets_updated_by_to_the_caller(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    other_user = world.token_with(["declaration_request:write"])
    response = world.backend.client.patch(
        f"/api/v3/declaration_requests/{request['id']}/actions/reject", headers=other_user
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["updated_by"] != request["inserted_by"]
    assert data["inserted_by"] == request["inserted_by"]


def test_reject_approved_request_is_200_rejected(world: World) -> None:
    request = world.create_ok()
    code = world.backend.code_of(world.active_verification_id(request["id"]))
    assert world.approve(request["id"], code).status_code == 200

    response = world.reject(request["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "REJECTED"
    (verification,) = world.backend.verifications(request["id"])
    assert verification.status == "VERIFIED"


def test_reject_offline_request_is_200(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = world.reject(request["id"])
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "REJECTED"


def test_reject_twice_is_409(world: World) -> None:
    request = world.create_ok()
    assert world.reject(request["id"]).status_code == 200

    response = world.reject(request["id"])

    assert response.status_code == 409
    assert response.json()["error"] == CONFLICT


def test_reject_cancelled_request_is_409(world: World) -> None:
    first = world.create_ok(world.offline_person_id)
    world.create_ok(world.offline_person_id)
    response = world.reject(first["id"])
    assert response.status_code == 409
    assert response.json()["error"] == CONFLICT


def test_reject_other_legal_entitys_request_is_404_and_leaves_it_alone(
    world: World, other_world: World
) -> None:
    foreign = other_world.create_ok()

    hidden = world.reject(foreign["id"])
    missing = world.reject(str(uuid.uuid4()))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"]
    assert hidden.json()["error"] == {
        "type": "not_found",
        "message": "Declaration request not found",
    }
    assert other_world.active_verification_id(foreign["id"])
    still = other_world.backend.client.get(
        f"/api/v3/declaration_requests/{foreign['id']}", headers=other_world.headers
    )
    assert still.json()["data"]["status"] == "NEW"


def test_reject_malformed_id_is_422(world: World) -> None:
    response = world.reject("123")
    assert response.status_code == 422
    assert [e["entry"] for e in response.json()["error"]["invalid"]] == ["$.id"]


def test_reject_without_write_scope_is_403(world: World) -> None:
    request = world.create_ok()
    response = world.backend.client.patch(
        f"/api/v3/declaration_requests/{request['id']}/actions/reject",
        headers=world.token_with(["declaration_request:read", "declaration_request:approve"]),
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith(
        "Missing allowances: declaration_request:write"
    )
    assert world.active_verification_id(request["id"])
