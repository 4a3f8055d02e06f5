"""A client that gave up before its request was read: nothing done, no error logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import Backend, make_world


def _call_after_the_client_left(
    backend: Backend, method: str, path: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Run one request through the app as uvicorn does once the connection is closed: its body
    is never received, every read of it answers `http.disconnect`."""
    sent: list[dict[str, Any]] = []
    raw_headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw_headers.append((b"content-length", b"30"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "state": dict(backend.client.app_state),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    backend.client.portal.call(backend.client.app, scope, receive, send)
    return sent


def test_a_request_read_after_its_client_left_is_dropped_quietly(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(backend)
    request = world.create_ok()
    path = f"/api/v3/declaration_requests/{request['id']}/actions/approve"

    with caplog.at_level(logging.INFO):
        sent = _call_after_the_client_left(backend, "PATCH", path, world.headers)

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 499
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert not any(r.exc_info for r in caplog.records)
    assert "client closed the connection first" in caplog.text
    # Nothing was done: the code the patient got still approves the request.
    code = backend.code_of(world.active_verification_id(request["id"]))
    approved = world.approve(request["id"], code)
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "APPROVED"
