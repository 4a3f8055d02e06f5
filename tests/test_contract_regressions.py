"""Failures schemathesis found (tests/contract), kept as plain regression tests.

Each test is the shrunk request schemathesis reported, replayed through the session app.
"""

from __future__ import annotations

from generated.models import ErrorResponse
from tests.conftest import World


def test_unsupported_method_lists_every_method_of_the_path_in_allow(world: World) -> None:
    # Found as: OPTIONS /api/v3/declaration_requests → 405 with `Allow: POST` (GET missing).
    client = world.backend.client
    response = client.options("/api/v3/declaration_requests", headers=world.headers)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "POST"}
    assert ErrorResponse.model_validate(response.json()).error.type == "method_not_allowed"

    response = client.delete(
        "/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b", headers=world.headers
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_huge_page_number_is_422_not_500(world: World) -> None:
    # Found as: GET /api/v3/declaration_requests?page=<20 digits> → 500 (the offset overflowed
    # the database's 64-bit integer).
    response = world.backend.client.get(
        "/api/v3/declaration_requests",
        params={"page": "18446744073709551616"},
        headers=world.headers,
    )
    assert response.status_code == 422, response.text
    invalid = ErrorResponse.model_validate(response.json()).error.invalid or []
    assert [(e.entry_type, e.entry) for e in invalid] == [("query_parameter", "$.page")]


def test_token_request_without_a_body_is_422_naming_grant_type(world: World) -> None:
    # Found as: POST /oauth/token with no body → 400 "you have sent corrupted JSON".
    response = world.backend.client.post("/oauth/token")
    assert response.status_code == 422, response.text
    invalid = ErrorResponse.model_validate(response.json()).error.invalid or []
    assert [e.entry for e in invalid] == ["$.grant_type"]
