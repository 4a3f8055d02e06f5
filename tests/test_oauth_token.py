"""POST /oauth/token: client credentials (legal entity id + issued token) → a new bearer token."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from generated.models import AccessToken, ErrorResponse
from tests.conftest import World

TOKEN_URL = "/oauth/token"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def _form(world: World, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": world.legal_entity_id,
        "client_secret": world.token,
        **fields,
    }


def _post(world: World, data: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return world.backend.client.post(TOKEN_URL, data=data, headers=headers or {})


def test_form_credentials_give_a_token_with_the_requested_scopes(world: World) -> None:
    response = _post(world, _form(world, scope="otp:write"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = AccessToken.model_validate(response.json())
    assert token.token_type == "bearer"
    assert token.scope == "otp:write"
    assert 3590 <= token.expires_in <= 3600
    assert token.access_token != world.token

    created = world.create_ok()
    bearer = {"Authorization": f"Bearer {token.access_token}"}
    assert world.resend(created["id"], headers=bearer).status_code in (200, 429)
    # Only the scopes asked for: reading needs declaration_request:read.
    denied = world.backend.client.get(
        f"/api/v3/declaration_requests/{created['id']}", headers=bearer
    )
    assert denied.status_code == 403
    assert ErrorResponse.model_validate(denied.json()).error.type == "forbidden"


def test_basic_credentials_and_no_scope_give_every_scope_of_the_secret(world: World) -> None:
    response = _post(
        world,
        {"grant_type": "client_credentials"},
        headers=_basic(world.legal_entity_id, world.token),
    )
    assert response.status_code == 200, response.text
    scopes = AccessToken.model_validate(response.json()).scope.split()
    assert sorted(scopes) == sorted(
        [
            "declaration_request:write",
            "declaration_request:read",
            "declaration_request:approve",
            "otp:write",
        ]
    )


def test_token_never_outlives_its_client_secret(world: World) -> None:
    short = world.token_with(["otp:write"], ttl_seconds=120)["Authorization"].split()[1]
    response = _post(world, _form(world, client_secret=short))
    assert response.status_code == 200, response.text
    assert AccessToken.model_validate(response.json()).expires_in <= 120


def test_wrong_credentials_are_401_in_the_envelope(world: World, other_world: World) -> None:
    cases = [
        _form(world, client_secret="dotp_" + "x" * 43),
        _form(world, client_id=other_world.legal_entity_id),
        _form(world, client_id="not-a-uuid"),
        {"grant_type": "client_credentials"},
    ]
    for data in cases:
        response = _post(world, data)
        assert response.status_code == 401, (data, response.text)
        body = ErrorResponse.model_validate(response.json())
        assert (body.error.type, body.error.message) == (
            "access_denied",
            "Invalid client credentials",
        )
    broken_basic = {"Authorization": "Basic !!!"}
    assert _post(world, {"grant_type": "client_credentials"}, broken_basic).status_code == 401


def test_scope_beyond_the_secret_and_bad_grant_are_422(world: World) -> None:
    narrow = world.token_with(["otp:write"])["Authorization"].split()[1]
    response = _post(
        world, _form(world, client_secret=narrow, scope="otp:write declaration_request:read")
    )
    assert response.status_code == 422, response.text
    invalid = ErrorResponse.model_validate(response.json()).error.invalid or []
    assert [entry.entry for entry in invalid] == ["$.scope"]

    response = _post(world, _form(world, grant_type="password", extra="1"))
    assert response.status_code == 422, response.text
    entries = {e.entry for e in ErrorResponse.model_validate(response.json()).error.invalid or []}
    assert entries == {"$.grant_type", "$.extra"}


def test_json_body_is_415(world: World) -> None:
    response = world.backend.client.post(TOKEN_URL, json={"grant_type": "client_credentials"})
    assert response.status_code == 415


def test_api_operations_still_require_their_scopes(world: World) -> None:
    """The token endpoint is public; the declaration request operations keep their scopes."""
    spec = world.backend.client.get("/api/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or not path.startswith("/api/v3/"):
                continue
            scopes = [s for req in op.get("security", []) for s in req.get("oauth2", [])]
            assert scopes, f"{method.upper()} {path} requires no oauth2 scope"
    response = world.backend.client.post(
        f"/api/v3/declaration_requests/{uuid.uuid4()}/actions/resend_otp"
    )
    assert response.status_code == 401
