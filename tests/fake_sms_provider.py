"""A fake SMS provider: a real HTTP server on 127.0.0.1 that tests start, break and mend.

It speaks both shapes our gateways use: the generic JSON webhook (`POST /sms`) and Twilio's
Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`). Every request is recorded with
whether the provider *accepted* it (would deliver it to the phone).

Modes:
  ok                accept and answer at once
  slow              accept, answer after `delay` seconds (clients with a shorter timeout give up)
  hang              do not accept; hold the request until `release` is set (or `delay` passes)
  arrive_then_hang  accept, then hold the answer until `release` is set (or `delay` passes)
  error500 / error429 / reject400   answer with that error, accept nothing
`stop()` closes the port (connection refused) and `start()` opens the same port again.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    accepted: bool = False
    answered: bool = False
    status: int = 0

    @property
    def reference(self) -> str:
        """Our message id: `reference` (JSON) or the StatusCallback's `message_id` (Twilio)."""
        if "reference" in self.body:
            return str(self.body["reference"])
        callback = str(self.body.get("StatusCallback", ""))
        return callback.rpartition("message_id=")[2]

    @property
    def to(self) -> str:
        return str(self.body.get("to") or self.body.get("To") or "")

    @property
    def text(self) -> str:
        return str(self.body.get("text") or self.body.get("Body") or "")


@dataclass
class FakeProvider:
    mode: str = "ok"
    delay: float = 2.0
    port: int = 0
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                provider._handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- what tests look at ----------------------------------------------------------------

    def requests_for(self, reference: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.reference == reference]

    def accepted_for(self, reference: str) -> int:
        return sum(1 for r in self.requests_for(reference) if r.accepted)

    def wait_for_request(self, reference: str | None = None, timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [r for r in self.received if reference in (None, r.reference)]
            if found:
                return found[-1]
            time.sleep(0.01)
        raise AssertionError(f"the provider got no request for {reference} within {timeout}s")

    def in_flight(self) -> int:
        with self._lock:
            return sum(1 for r in self.received if not r.answered)

    # --- the server side -------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length).decode()
        twilio = handler.path.endswith("/Messages.json")
        body: dict[str, Any] = dict(parse_qsl(raw)) if twilio else json.loads(raw or "{}")
        record = Received(
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            at=time.monotonic(),
        )
        mode = self.mode
        with self._lock:
            self.received.append(record)
        self.arrived.set()
        status, answer = self._answer(mode, record, twilio)
        try:
            payload = json.dumps(answer).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            if status == 429:
                handler.send_header("Retry-After", "0")
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting
        finally:
            record.status, record.answered = status, True

    def _answer(self, mode: str, record: Received, twilio: bool) -> tuple[int, dict[str, Any]]:
        if mode == "hang":
            self.release.wait(self.delay)
            return 503, {"error": "gave up"}
        if mode in ("error500", "error429"):
            status = 500 if mode == "error500" else 429
            return status, {"error": "provider trouble", "code": status, "status": status}
        if mode == "reject400":
            message = f"The 'To' number {record.to} is not a valid phone number."
            return 400, {"code": 21211, "message": message, "error": message, "status": 400}
        record.accepted = True
        if mode == "slow":
            time.sleep(self.delay)
        elif mode == "arrive_then_hang":
            self.release.wait(self.delay)
        if twilio:
            return 201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}
        return 200, {"id": f"P-{uuid.uuid4().hex[:12]}"}


def basic_auth(header: str) -> tuple[str, str]:
    user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    return user, password
