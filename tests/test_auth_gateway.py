"""AUTH_MODE=gateway: identity from the upstream gateway's x-consumer-* headers, through HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from declaration_otp.tables import DeclarationRequest
from tests.conftest import ALL_SCOPES, Backend, World, make_world, running_backend

GATEWAY_SECRET = "gateway-shared-secret-for-tests"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from running_backend("gateway", tmp_path_factory.mktemp("gateway"), auth_mode="gateway")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """Gateway mode that also requires the gateway's shared secret."""
    yield from running_backend(
        "guarded",
        tmp_path_factory.mktemp("guarded"),
        auth_mode="gateway",
        auth_gateway_secret=GATEWAY_SECRET,
    )


def identity(
    legal_entity_id: str, scopes: list[str] = ALL_SCOPES, user_id: str = "user-gw-1"
) -> dict[str, str]:
    return {
        "x-consumer-id": user_id,
        "x-consumer-metadata": json.dumps(
            {"client_id": legal_entity_id, "scope": " ".join(scopes), "grant_type": "password"}
        ),
        "x-consumer-scope": " ".join(scopes),
    }


def gateway_world(backend: Backend, **extra_headers: str) -> World:
    world = make_world(backend)
    world.headers = {**identity(world.legal_entity_id), **extra_headers}
    return world


def _get(backend: Backend, request_id: str, headers: dict[str, str]) -> Any:
    return backend.client.get(f"/api/v3/declaration_requests/{request_id}", headers=headers)


def _error(response: Any) -> dict[str, Any]:
    return response.json()["error"]  # type: ignore[no-any-return]


def test_gateway_identity_reaches_the_handler(gateway: Backend) -> None:
    world = gateway_world(gateway)
    world.headers["x-consumer-id"] = "doctor-on-the-gateway"
    request = world.create_ok()
    response = _get(gateway, request["id"], world.headers)
    assert response.status_code == 200, response.text
    world.backend.clock.advance(61)
    assert world.resend(request["id"]).status_code == 200
    row = gateway.read(lambda s: s.get(DeclarationRequest, uuid.UUID(request["id"])))
    assert row.inserted_by == "doctor-on-the-gateway"


def test_missing_metadata_header_is_401_with_the_upstream_text(gateway: Backend) -> None:
    world = gateway_world(gateway)
    headers = {k: v for k, v in world.headers.items() if k != "x-consumer-metadata"}
    response = _get(gateway, str(uuid.uuid4()), headers)
    assert response.status_code == 401
    assert _error(response) == {
        "type": "access_denied",
        "message": "Missing header x-consumer-metadata",
    }
    assert response.json()["meta"]["code"] == 401


def test_a_bearer_token_is_no_substitute_for_the_gateway_headers(gateway: Backend) -> None:
    world = gateway_world(gateway)  # make_world issued a local token too: worthless here
    response = _get(gateway, str(uuid.uuid4()), {"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 401
    assert _error(response)["message"] == "Missing header x-consumer-metadata"


@pytest.mark.parametrize(
    "metadata",
    [
        "{}",
        '{"scope": "otp:write"}',
        "",
        "not json",
        "[1, 2]",
        '"a string"',
        '{"client_id": null}',
        '{"client_id": 42}',
        '{"client_id": "not-a-uuid"}',
        '{"client_id": ""}',
        "{" * 500,
    ],
)
def test_metadata_without_a_usable_client_id_is_401(gateway: Backend, metadata: str) -> None:
    world = gateway_world(gateway)
    response = _get(gateway, str(uuid.uuid4()), {**world.headers, "x-consumer-metadata": metadata})
    assert response.status_code == 401, response.text
    # Upstream's text, typo included: see declaration_otp/auth/gateway.py.
    assert _error(response) == {"type": "access_denied", "message": "Misssing Client ID"}


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        (None, "Missing header x-consumer-id"),
        ("", "Missing header x-consumer-id"),
        ("   ", "Missing header x-consumer-id"),
        ("u" * 65, "Invalid header x-consumer-id"),
    ],
)
def test_a_missing_or_unusable_consumer_id_is_401(
    gateway: Backend, user_id: str | None, message: str
) -> None:
    world = gateway_world(gateway)
    headers = {k: v for k, v in world.headers.items() if k != "x-consumer-id"}
    if user_id is not None:
        headers["x-consumer-id"] = user_id
    response = _get(gateway, str(uuid.uuid4()), headers)
    assert response.status_code == 401
    assert _error(response) == {"type": "access_denied", "message": message}


def test_scopes_come_from_x_consumer_scope_and_are_enforced(gateway: Backend) -> None:
    world = gateway_world(gateway)
    request = world.create_ok()
    narrow = identity(world.legal_entity_id, ["declaration_request:read"])
    assert _get(gateway, request["id"], narrow).status_code == 200
    response = world.resend(request["id"], headers=narrow)
    assert response.status_code == 403
    assert _error(response) == {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. "
        "Missing allowances: otp:write",
    }
    # The metadata's own `scope` is not a source of scopes: only x-consumer-scope is.
    no_scope = {k: v for k, v in world.headers.items() if k != "x-consumer-scope"}
    assert world.resend(request["id"], headers=no_scope).status_code == 403


def test_another_legal_entitys_request_is_404(gateway: Backend) -> None:
    world, other = gateway_world(gateway), gateway_world(gateway)
    foreign = other.create_ok()["id"]
    base = f"/api/v3/declaration_requests/{foreign}"
    client = gateway.client
    for response in (
        client.get(base, headers=world.headers),
        client.post(f"{base}/actions/resend_otp", headers=world.headers),
        client.patch(
            f"{base}/actions/approve", json={"verification_code": 1234}, headers=world.headers
        ),
        client.patch(f"{base}/actions/reject", headers=world.headers),
    ):
        assert response.status_code == 404, response.text
        assert _error(response)["type"] == "not_found"
    assert _get(gateway, foreign, other.headers).json()["data"]["status"] == "NEW"


def test_the_shared_secret_is_required_when_configured(guarded: Backend) -> None:
    world = gateway_world(guarded, **{"x-gateway-secret": GATEWAY_SECRET})
    request = world.create_ok()
    assert _get(guarded, request["id"], world.headers).status_code == 200
    without = {k: v for k, v in world.headers.items() if k != "x-gateway-secret"}
    for headers in (
        without,
        {**without, "x-gateway-secret": ""},
        {**without, "x-gateway-secret": GATEWAY_SECRET[:-1]},
        {**without, "x-gateway-secret": GATEWAY_SECRET + "x"},
    ):
        response = _get(guarded, request["id"], headers)
        assert response.status_code == 401
        assert _error(response) == {"type": "access_denied", "message": "Invalid gateway secret"}
    # Checked first: without the secret nothing else about the headers is revealed.
    response = _get(guarded, request["id"], {"x-gateway-secret": "wrong"})
    assert _error(response)["message"] == "Invalid gateway secret"
