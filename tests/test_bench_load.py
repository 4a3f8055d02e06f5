"""scripts/bench's load generator against a real local HTTP server: every request is answered
or counted as an error, over at most the connections allowed, kept alive; a latency counts from
the request's due time (a wait for a busy connection included); a request left unanswered times
out and its connection is not reused; the generator ends whatever the server does."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LOAD = Path(__file__).resolve().parent.parent / "scripts" / "bench_load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Server:
    """Answers 200 with a small JSON body; `delay` holds each answer, `close` ends each
    connection after its answer; records the client's port of every request (its connection)."""

    delay: float = 0.0
    delay_first: float | None = None  # the first request's, when not `delay`
    close: bool = False
    ports: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self._lock:
            first = not self.ports
            self.ports.append(handler.client_address[1])
            self.bodies.append(body)
            self.headers.append(dict(handler.headers))
        time.sleep(self.delay_first if first and self.delay_first is not None else self.delay)
        payload = b'{"data": {}}'
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        if self.close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(payload)


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[ThreadingHTTPServer] = []

    def start(server: Server) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def log_message(self, *_args: Any) -> None:
                """No access log on stderr: the test's output is its assertions."""

            def do_POST(self) -> None:
                server.handle(self)

            def do_GET(self) -> None:
                server.handle(self)

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        http.daemon_threads = True
        threading.Thread(target=http.serve_forever, daemon=True).start()
        started.append(http)
        return f"http://127.0.0.1:{http.server_address[1]}"

    yield start
    for http in started:
        http.shutdown()
        http.server_close()


def _job(base: str, requests: list[list[Any]], **overrides: Any) -> dict[str, Any]:
    job = {
        "base": base,
        "token": "the-token",
        "requests": requests,
        "rate": 200.0,
        "start_at": time.monotonic() + 0.1,
        "connections": 4,
        "timeout": 5.0,
    }
    job.update(overrides)
    return job


def _run(load: ModuleType, job: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = asyncio.run(asyncio.wait_for(load.generate(job), timeout=30))
    return result


def test_every_request_is_answered_over_the_connections_allowed(
    load: ModuleType, serve: Any
) -> None:
    server = Server()
    base = serve(server)
    requests: list[list[Any]] = [["POST", f"/r/{i}/actions/resend_otp", None] for i in range(30)]
    requests += [["POST", "/create", {"n": i}] for i in range(10)]
    job = _job(base, requests, rate=400.0, connections=3)

    result = _run(load, job)

    assert [s[2] for s in result["samples"]] == [200] * 40
    assert result["errors"] == {}
    # Kept alive: 40 requests over at most the 3 connections allowed.
    assert 1 <= len(set(server.ports)) <= 3
    # Each sample is a request's due time (start + i / rate), in the order offered.
    dues = sorted(s[0] for s in result["samples"])
    assert dues == pytest.approx([job["start_at"] + i / 400.0 for i in range(40)])
    assert len(result["send_lags"]) == 40
    assert all(lag >= 0 for _, lag in result["send_lags"])
    assert sorted(server.bodies)[-10:] == sorted(f'{{"n": {i}}}'.encode() for i in range(10))
    assert server.bodies.count(b"") == 30
    assert {h["Authorization"] for h in server.headers} == {"Bearer the-token"}
    assert result["cpu_s"] > 0


def test_a_wait_for_a_busy_connection_counts_in_the_latency(load: ModuleType, serve: Any) -> None:
    server = Server(delay=0.1)
    base = serve(server)
    # One connection, an answer every 0.1 s, a request due every 0.01 s: the fifth waits for
    # the four before it, and that wait is its latency too (counted from its due time).
    result = _run(load, _job(base, [["GET", "/x", None]] * 5, rate=100.0, connections=1))

    latencies = [latency for _, latency, _ in sorted(result["samples"])]
    assert [s[2] for s in result["samples"]] == [200] * 5
    assert len(set(server.ports)) == 1
    assert latencies[0] >= 0.1
    assert latencies[4] >= 0.5 - 0.04 - 0.01
    assert latencies == sorted(latencies)


def test_an_unanswered_request_times_out_and_its_connection_is_not_reused(
    load: ModuleType, serve: Any
) -> None:
    server = Server(delay_first=1.5)
    base = serve(server)
    result = _run(
        load, _job(base, [["GET", "/x", None]] * 3, rate=20.0, connections=1, timeout=0.5)
    )

    statuses = [status for _, _, status in sorted(result["samples"])]
    assert statuses == [0, 200, 200]
    assert result["errors"] == {"TimeoutError": 1}
    first_latency = sorted(result["samples"])[0][1]
    assert 0.5 <= first_latency < 1.5
    # The timed-out connection was dropped; the others went out on a new one.
    assert len(set(server.ports)) == 2


def test_a_server_that_closes_each_connection_after_answering(load: ModuleType, serve: Any) -> None:
    server = Server(close=True)
    base = serve(server)
    result = _run(load, _job(base, [["GET", "/x", None]] * 8, rate=100.0, connections=2))

    assert [s[2] for s in result["samples"]] == [200] * 8
    assert result["errors"] == {}
    assert len(set(server.ports)) == 8


def test_no_server_every_request_is_an_error_and_the_generator_ends(load: ModuleType) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = _run(load, _job(f"http://127.0.0.1:{port}", [["GET", "/x", None]] * 6, connections=2))

    assert [s[2] for s in result["samples"]] == [0] * 6
    assert result["errors"] == {"ConnectionRefusedError": 6}
