"""AUTH_MODE=introspection: bearer tokens checked with an RFC 7662 server, through HTTP.

The introspection server is a real HTTP server on 127.0.0.1, started here, whose behaviour each
test sets: answer, be slow, answer garbage, fail, or not listen at all.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.conftest import ALL_SCOPES, Backend, World, make_world, running_backend

CLIENT_ID = "declaration-otp"
CLIENT_SECRET = "introspection-client-secret"
INVALID = {"type": "access_denied", "message": "Invalid access token"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FakeIntrospection:
    """Answers by token; `behaviour` switches the whole server to a failure mode."""

    answers: dict[str, Any] = field(default_factory=dict)
    behaviour: str = "answer"  # answer | slow | not_json | not_object | no_active | 500 | 401
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def calls_for(self, token: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call["form"].get("token") == [token])


def _handler(fake: FakeIntrospection) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            with fake.lock:
                fake.calls.append({"form": form, "authorization": self.headers["Authorization"]})
                behaviour = fake.behaviour
                answer = fake.answers.get(form.get("token", [""])[0], {"active": False})
            if behaviour == "slow":
                time.sleep(1.5)
            bodies = {
                "not_json": (200, b"<html>gateway timeout</html>"),
                "not_object": (200, b"[true]"),
                "no_active": (200, b'{"active": "yes", "client_id": "x"}'),
                "500": (500, b'{"error": "server_error"}'),
                "401": (401, b'{"error": "invalid_client"}'),
            }
            status, body = bodies.get(behaviour, (200, json.dumps(answer).encode()))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(status, body)

    return Handler


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeIntrospection]:
    fake = FakeIntrospection()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/oauth/introspect"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def _settings(url: str) -> dict[str, Any]:
    return {
        "auth_mode": "introspection",
        "auth_introspection_url": url,
        "auth_introspection_client_id": CLIENT_ID,
        "auth_introspection_client_secret": CLIENT_SECRET,
        "auth_cache_seconds": 60,
        "auth_negative_cache_seconds": 5,
        "http_read_timeout_seconds": 0.5,
    }


@pytest.fixture(scope="module")
def app(fake: FakeIntrospection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    tmp = tmp_path_factory.mktemp("introspection")
    yield from running_backend("introspection", tmp, **_settings(fake.url))


@pytest.fixture(scope="module")
def down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """Pointed at a port where nothing listens."""
    url = f"http://127.0.0.1:{free_port()}/oauth/introspect"
    yield from running_backend(
        "introspection-down", tmp_path_factory.mktemp("down"), **_settings(url)
    )


@pytest.fixture(autouse=True)
def _answering(fake: FakeIntrospection) -> Iterator[None]:
    fake.behaviour = "answer"
    yield
    fake.behaviour = "answer"


def register(
    fake: FakeIntrospection, backend: Backend, legal_entity_id: str, **answer: Any
) -> tuple[str, dict[str, str]]:
    """A new token the fake server knows; exp is counted on the app's (movable) clock."""
    token = "ehealth-" + secrets.token_urlsafe(24)
    body: dict[str, Any] = {
        "active": True,
        "client_id": legal_entity_id,
        "sub": "user-" + uuid.uuid4().hex[:6],
        "scope": " ".join(ALL_SCOPES),
        "exp": int(backend.clock().timestamp()) + 3600,
        "token_type": "bearer",
    }
    body.update(answer)
    body = {k: v for k, v in body.items() if v is not None}
    with fake.lock:
        fake.answers[token] = body
    return token, {"Authorization": f"Bearer {token}"}


def introspected_world(fake: FakeIntrospection, backend: Backend) -> World:
    world = make_world(backend)
    world.token, world.headers = register(fake, backend, world.legal_entity_id)
    return world


def _get(backend: Backend, request_id: str, headers: dict[str, str]) -> Any:
    return backend.client.get(f"/api/v3/declaration_requests/{request_id}", headers=headers)


def test_an_active_token_reaches_the_handler(fake: FakeIntrospection, app: Backend) -> None:
    world = introspected_world(fake, app)
    request = world.create_ok()
    assert _get(app, request["id"], world.headers).status_code == 200
    call = next(c for c in fake.calls if c["form"].get("token") == [world.token])
    assert call["form"]["token_type_hint"] == ["access_token"]
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert call["authorization"] == f"Basic {expected}"


def test_the_user_id_may_come_as_ehealths_user_id(fake: FakeIntrospection, app: Backend) -> None:
    world = make_world(app)
    _, world.headers = register(fake, app, world.legal_entity_id, sub=None, user_id="mithril-7")
    assert world.create_ok()["id"]


def test_positive_answers_are_cached_up_to_auth_cache_seconds(
    fake: FakeIntrospection, app: Backend
) -> None:
    world = introspected_world(fake, app)
    request = world.create_ok()
    for _ in range(5):
        assert _get(app, request["id"], world.headers).status_code == 200
    assert fake.calls_for(world.token) == 1
    app.clock.advance(61)
    assert _get(app, request["id"], world.headers).status_code == 200
    assert fake.calls_for(world.token) == 2


def test_a_cached_answer_never_outlives_the_tokens_exp(
    fake: FakeIntrospection, app: Backend
) -> None:
    world = make_world(app)
    exp = int(app.clock().timestamp()) + 10
    token, headers = register(fake, app, world.legal_entity_id, exp=exp)
    assert _get(app, str(uuid.uuid4()), headers).status_code == 404
    app.clock.advance(5)
    assert _get(app, str(uuid.uuid4()), headers).status_code == 404
    assert fake.calls_for(token) == 1
    app.clock.advance(6)  # past exp: the server is asked again and still says exp has passed
    response = _get(app, str(uuid.uuid4()), headers)
    assert response.status_code == 401
    assert response.json()["error"] == INVALID
    assert fake.calls_for(token) == 2


def test_an_inactive_token_is_401_and_briefly_cached(fake: FakeIntrospection, app: Backend) -> None:
    world = make_world(app)
    token, headers = register(fake, app, world.legal_entity_id, active=False)
    for _ in range(3):
        response = _get(app, str(uuid.uuid4()), headers)
        assert response.status_code == 401
        assert response.json()["error"] == INVALID
    assert fake.calls_for(token) == 1
    with fake.lock:  # activated at the auth server: seen once the negative entry expires
        fake.answers[token]["active"] = True
    app.clock.advance(6)
    assert _get(app, str(uuid.uuid4()), headers).status_code == 404
    assert fake.calls_for(token) == 2


@pytest.mark.parametrize(
    "answer",
    [
        {"exp": 1_000_000_000},  # long expired although "active"
        {"client_id": "not-a-legal-entity"},
        {"client_id": None},
        {"sub": None},
        {"sub": "u" * 65},
    ],
)
def test_active_but_unusable_answers_are_401(
    fake: FakeIntrospection, app: Backend, answer: dict[str, Any]
) -> None:
    world = make_world(app)
    _, headers = register(fake, app, world.legal_entity_id, **answer)
    response = _get(app, str(uuid.uuid4()), headers)
    assert response.status_code == 401
    assert response.json()["error"] == INVALID


def test_unknown_tokens_and_local_tokens_are_401(fake: FakeIntrospection, app: Backend) -> None:
    world = make_world(app)  # its `token` is a local one: not valid in this mode
    for headers in (
        {"Authorization": f"Bearer {world.token}"},
        {"Authorization": "Bearer never-issued"},
    ):
        response = _get(app, str(uuid.uuid4()), headers)
        assert response.status_code == 401
        assert response.json()["error"] == INVALID


def test_a_token_that_cannot_be_a_token_is_not_sent(fake: FakeIntrospection, app: Backend) -> None:
    before = len(fake.calls)
    for token in ("a" * 5000, "bad\\token", "tab\there"):
        response = _get(app, str(uuid.uuid4()), {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    assert len(fake.calls) == before


def test_scopes_of_the_answer_are_enforced(fake: FakeIntrospection, app: Backend) -> None:
    world = introspected_world(fake, app)
    request = world.create_ok()
    _, narrow = register(fake, app, world.legal_entity_id, scope="declaration_request:read")
    assert _get(app, request["id"], narrow).status_code == 200
    response = world.resend(request["id"], headers=narrow)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Your scope does not allow to access this resource. Missing allowances: otp:write"
    )


def test_another_legal_entitys_request_is_404(fake: FakeIntrospection, app: Backend) -> None:
    world, other = introspected_world(fake, app), introspected_world(fake, app)
    foreign = other.create_ok()["id"]
    assert _get(app, foreign, world.headers).status_code == 404
    assert world.resend(foreign).status_code == 404
    assert world.approve(foreign, 1234).status_code == 404
    assert (
        app.client.patch(
            f"/api/v3/declaration_requests/{foreign}/actions/reject", headers=world.headers
        ).status_code
        == 404
    )


def _assert_503(response: Any, token: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["type"] == "internal_error"
    assert token not in response.text


@pytest.mark.parametrize("behaviour", ["not_json", "not_object", "no_active", "500", "401"])
def test_garbage_or_errors_from_the_server_are_503_never_allow(
    fake: FakeIntrospection, app: Backend, behaviour: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(app)
    token, headers = register(fake, app, world.legal_entity_id)
    fake.behaviour = behaviour
    _assert_503(_get(app, str(uuid.uuid4()), headers), token)
    assert token not in caplog.text
    # Failures are not cached: the next answer is used at once.
    fake.behaviour = "answer"
    assert _get(app, str(uuid.uuid4()), headers).status_code == 404


def test_a_slow_server_is_503_within_the_read_timeout(
    fake: FakeIntrospection, app: Backend
) -> None:
    world = make_world(app)
    token, headers = register(fake, app, world.legal_entity_id)
    fake.behaviour = "slow"
    started = time.monotonic()
    response = _get(app, str(uuid.uuid4()), headers)
    elapsed = time.monotonic() - started
    _assert_503(response, token)
    assert elapsed < 1.4  # HTTP_READ_TIMEOUT_SECONDS=0.5, the server takes 1.5 s


def test_a_server_that_is_down_is_503_never_allow(
    down: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(down)
    response = _get(down, str(uuid.uuid4()), {"Authorization": "Bearer some-ehealth-token"})
    _assert_503(response, "some-ehealth-token")
    assert "some-ehealth-token" not in caplog.text
    # A write is refused the same way: nothing is created without an answer.
    _assert_503(world.create(), world.token)
