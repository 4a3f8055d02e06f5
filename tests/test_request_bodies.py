"""Bodies that arrive without a JSON Content-Type, or not at all."""

from __future__ import annotations

from typing import Any

from httpx import Response

from tests.conftest import World


def _approve_raw(world: World, request_id: str, **kwargs: Any) -> Response:
    return world.backend.client.patch(
        f"/api/v3/declaration_requests/{request_id}/actions/approve",
        headers={**world.headers, **kwargs.pop("headers", {})},
        **kwargs,
    )


def test_offline_request_approves_with_no_body_at_all(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = _approve_raw(world, request["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "APPROVED"


def test_json_body_without_content_type_is_read_as_json(world: World) -> None:
    request = world.create_ok()
    verification_id = world.active_verification_id(request["id"])
    code = world.backend.code_of(verification_id)
    response = _approve_raw(world, request["id"], content=f'{{"verification_code": {code}}}')
    assert response.status_code == 200, response.text


def test_otp_request_without_body_names_the_missing_code(world: World) -> None:
    request = world.create_ok()
    response = _approve_raw(world, request["id"])
    assert response.status_code == 422
    invalid = response.json()["error"]["invalid"]
    assert [entry["entry"] for entry in invalid] == ["$.verification_code"]


def test_non_json_content_type_is_415(world: World) -> None:
    request = world.create_ok()
    response = _approve_raw(
        world, request["id"], content=b"1234", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "content_type_invalid"
