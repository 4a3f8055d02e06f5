"""The eHealth envelope on every response, errors included, and the X-Request-ID contract."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import World

URL = "/api/v3/declaration_requests"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GATEWAY_ID = "6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"


def assert_error_envelope(response: Any, status: int, error_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    content_type = response.headers["content-type"]
    assert content_type.split(";")[0].strip() == "application/json"
    assert "problem" not in content_type
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"meta", "error"}
    meta = body["meta"]
    assert set(meta) == {"code", "url", "type", "request_id"}
    assert meta["code"] == status
    assert meta["type"] == "object"
    assert meta["url"].startswith("http://testserver/")
    assert "?" not in meta["url"]
    assert meta["request_id"] == response.headers["x-request-id"]
    error = body["error"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"type", "message", "invalid"}
    if error_type is not None:
        assert error["type"] == error_type


def _broken_json(world: World) -> Any:
    return world.backend.client.post(
        URL, content=b"{nope", headers={**world.headers, "Content-Type": "application/json"}
    )


def _no_token(world: World) -> Any:
    return world.backend.client.get(URL)


def _bad_token(world: World) -> Any:
    return world.backend.client.get(URL, headers={"Authorization": "Bearer dotp_unknown"})


def _not_bearer(world: World) -> Any:
    return world.backend.client.get(URL, headers={"Authorization": "Basic dXNlcjpwYXNz"})


def _no_scope(world: World) -> Any:
    return world.backend.client.get(URL, headers=world.token_with(["otp:write"]))


def _unknown_route(world: World) -> Any:
    return world.backend.client.get("/api/v3/nothing/here", headers=world.headers)


def _unknown_action(world: World) -> Any:
    return world.backend.client.patch(
        f"{URL}/{uuid.uuid4()}/actions/sign", headers=world.headers, json={}
    )


def _unknown_request(world: World) -> Any:
    return world.backend.client.get(f"{URL}/{uuid.uuid4()}", headers=world.headers)


def _wrong_method(world: World) -> Any:
    return world.backend.client.delete(f"{URL}/{uuid.uuid4()}", headers=world.headers)


def _conflict(world: World) -> Any:
    request = world.create_ok(world.offline_person_id)
    world.reject(request["id"])
    return world.reject(request["id"])


def _text_plain(world: World) -> Any:
    return world.backend.client.post(
        URL, content=b"hello", headers={**world.headers, "Content-Type": "text/plain"}
    )


def _validation(world: World) -> Any:
    return world.backend.client.post(URL, json={"x": 1}, headers=world.headers)


def _query_validation(world: World) -> Any:
    return world.backend.client.get(URL, params={"page_size": 0}, headers=world.headers)


def _wrong_code(world: World) -> Any:
    request = world.create_ok()
    return world.approve(request["id"], 1)


def _too_many(world: World) -> Any:
    request = world.create_ok()
    return world.resend(request["id"])


ERROR_CASES: list[tuple[str, Callable[[World], Any], int, str]] = [
    ("broken-json", _broken_json, 400, "request_malformed"),
    ("no-token", _no_token, 401, "access_denied"),
    ("unknown-token", _bad_token, 401, "access_denied"),
    ("not-bearer", _not_bearer, 401, "access_denied"),
    ("missing-scope", _no_scope, 403, "forbidden"),
    ("unknown-route", _unknown_route, 404, "not_found"),
    ("unknown-action", _unknown_action, 404, "not_found"),
    ("unknown-request", _unknown_request, 404, "not_found"),
    ("wrong-method", _wrong_method, 405, ""),
    ("conflict", _conflict, 409, "request_conflict"),
    ("text-plain", _text_plain, 415, "content_type_invalid"),
    ("body-validation", _validation, 422, "validation_failed"),
    ("query-validation", _query_validation, 422, "validation_failed"),
    ("wrong-code", _wrong_code, 422, "forbidden"),
    ("cooldown", _too_many, 429, "too_many_requests"),
]


@pytest.mark.parametrize(
    ("call", "status", "error_type"),
    [pytest.param(call, status, kind, id=name) for name, call, status, kind in ERROR_CASES],
)
def test_every_error_is_a_json_envelope(
    world: World, call: Callable[[World], Any], status: int, error_type: str
) -> None:
    assert_error_envelope(call(world), status, error_type or None)


@pytest.mark.parametrize(
    ("call", "status"),
    [pytest.param(call, status, id=name) for name, call, status, _ in ERROR_CASES],
)
def test_every_error_echoes_the_client_request_id(
    world: World, call: Callable[[World], Any], status: int
) -> None:
    client = world.backend.client
    original = client.headers.copy()
    client.headers["X-Request-ID"] = GATEWAY_ID
    try:
        response = call(world)
    finally:
        client.headers.clear()
        client.headers.update(original)
    assert response.status_code == status
    assert response.headers["x-request-id"] == GATEWAY_ID
    assert response.json()["meta"]["request_id"] == GATEWAY_ID


def test_unknown_route_is_404_not_found(world: World) -> None:
    response = world.backend.client.get("/definitely/not/here", headers=world.headers)
    assert_error_envelope(response, 404, "not_found")


def test_wrong_method_is_405_in_the_envelope_with_allow(world: World) -> None:
    request = world.create_ok(world.offline_person_id)
    response = world.backend.client.delete(f"{URL}/{request['id']}", headers=world.headers)
    assert_error_envelope(response, 405)
    assert "GET" in response.headers["allow"]
    assert "DELETE" not in response.headers["allow"]
    # The request is untouched.
    again = world.backend.client.get(f"{URL}/{request['id']}", headers=world.headers)
    assert again.json()["data"]["status"] == "NEW"


def test_put_on_the_collection_is_405(world: World) -> None:
    response = world.backend.client.put(URL, json={}, headers=world.headers)
    assert_error_envelope(response, 405)


def test_success_responses_are_json_envelopes(world: World) -> None:
    created = world.backend.client.post(
        URL,
        json={
            "person_id": world.otp_person_id,
            "employee_id": world.doctor_id,
            "division_id": world.division_id,
        },
        headers=world.headers,
    )
    fetched = world.backend.client.get(
        f"{URL}/{created.json()['data']['id']}", headers=world.headers
    )
    listed = world.backend.client.get(URL, headers=world.headers)
    for response, kind in ((created, "object"), (fetched, "object"), (listed, "list")):
        assert response.headers["content-type"].split(";")[0] == "application/json"
        meta = response.json()["meta"]
        assert set(meta) == {"code", "url", "type", "request_id"}
        assert meta["code"] == response.status_code
        assert meta["type"] == kind
        assert meta["request_id"] == response.headers["x-request-id"]


def test_request_id_is_echoed_in_header_and_meta(world: World) -> None:
    response = world.backend.client.get(URL, headers={**world.headers, "X-Request-ID": "abc-1"})
    assert response.headers["x-request-id"] == "abc-1"
    assert response.json()["meta"]["request_id"] == "abc-1"


def test_gateway_format_request_id_is_echoed(world: World) -> None:
    response = world.backend.client.post(
        URL,
        json={
            "person_id": world.offline_person_id,
            "employee_id": world.doctor_id,
            "division_id": world.division_id,
        },
        headers={**world.headers, "X-Request-ID": GATEWAY_ID},
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == GATEWAY_ID
    assert response.json()["meta"]["request_id"] == GATEWAY_ID


def test_request_id_is_generated_when_absent(world: World) -> None:
    first = world.backend.client.get(URL, headers=world.headers)
    second = world.backend.client.get(URL, headers=world.headers)
    for response in (first, second):
        generated = response.headers["x-request-id"]
        assert UUID_RE.match(generated)
        assert response.json()["meta"]["request_id"] == generated
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_request_id_is_generated_on_errors_too(world: World) -> None:
    response = world.backend.client.get("/nowhere")
    generated = response.headers["x-request-id"]
    assert UUID_RE.match(generated)
    assert response.json()["meta"]["request_id"] == generated


def test_absurd_request_id_on_an_unvalidated_route_is_replaced(world: World) -> None:
    absurd = "x" * 500
    response = world.backend.client.get("/nowhere", headers={"X-Request-ID": absurd})
    assert response.status_code == 404
    assert UUID_RE.match(response.headers["x-request-id"])
    assert response.json()["meta"]["request_id"] == response.headers["x-request-id"]


def test_absurd_request_id_is_replaced_by_a_fresh_one(world: World) -> None:
    absurd = "x" * 500
    response = world.backend.client.get(URL, headers={**world.headers, "X-Request-ID": absurd})
    assert response.status_code == 200, response.text
    generated = response.headers["x-request-id"]
    assert generated != absurd and UUID_RE.match(generated)
    assert response.json()["meta"]["request_id"] == generated


def test_meta_url_has_no_query_string(world: World) -> None:
    ok = world.backend.client.get(URL, params={"status": "NEW", "page": 1}, headers=world.headers)
    bad = world.backend.client.get(URL, params={"page_size": 999}, headers=world.headers)
    assert ok.json()["meta"]["url"] == f"http://testserver{URL}"
    assert bad.json()["meta"]["url"] == f"http://testserver{URL}"


def test_meta_url_is_the_requested_path(world: World) -> None:
    request_id = str(uuid.uuid4())
    response = world.backend.client.get(f"{URL}/{request_id}", headers=world.headers)
    assert response.json()["meta"]["url"] == f"http://testserver{URL}/{request_id}"


def test_created_meta_url_has_the_new_id_appended(world: World) -> None:
    response = world.create(world.offline_person_id)
    assert response.status_code == 201
    body = response.json()
    assert body["meta"]["url"] == f"http://testserver{URL}/{body['data']['id']}"
