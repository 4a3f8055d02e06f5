"""scripts/bench's fake SMS provider, run as the benchmark runs it (a process of its own): it
takes what the product's `http` gateway sends and answers as that gateway expects, remembers the
last code per number, refuses what is not an SMS without dropping the connection, and answers
requests kept alive or pipelined in the order they came."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from declaration_otp.outbound import OutboundHttp
from declaration_otp.sms.gateways import OutgoingSms
from declaration_otp.sms.provider_gateways import HttpGateway
from tests.servers import free_port

PROVIDER = Path(__file__).resolve().parent.parent / "scripts" / "bench_provider.py"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(PROVIDER), str(port)])
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _taken(url: str) -> int:
    count: int = httpx.get(f"{url}/codes").json()["count"]
    return count


def test_the_http_gateway_sends_through_it(url: str) -> None:
    before = _taken(url)
    sms = OutgoingSms(
        message_id="0190f0a0-0000-7000-8000-000000000001",
        phone_number="+380501234567",
        text="eHealth: 482915",
        declaration_request_id=None,
        verification_id="0190f0a0-0000-7000-8000-000000000002",
        request_id="provider-test",
        sent_at=datetime.now(UTC),
    )

    async def send() -> str | None:
        client = OutboundHttp()
        try:
            return await HttpGateway(client, f"{url}/sms").send(sms)
        finally:
            await client.aclose()

    assert asyncio.run(send()) == f"fake-{before + 1}"
    state = httpx.get(f"{url}/codes").json()
    assert state["count"] == before + 1
    assert state["codes"]["+380501234567"] == "482915"


def test_the_last_code_per_number_is_kept_over_one_kept_alive_connection(url: str) -> None:
    before = _taken(url)
    with httpx.Client(base_url=url) as client:
        first = client.post("/sms", json={"to": "+380671111111", "text": "eHealth: 1111"})
        second = client.post("/sms", json={"to": "+380671111111", "text": "eHealth: 222222"})
        other = client.post("/sms", json={"to": "+380672222222", "text": "no code here"})
        state = client.get("/codes").json()
    assert [r.status_code for r in (first, second, other)] == [200, 200, 200]
    assert [r.json()["id"] for r in (first, second, other)] == [
        f"fake-{before + n}" for n in (1, 2, 3)
    ]
    assert state["count"] == before + 3
    assert state["codes"]["+380671111111"] == "222222"
    assert "+380672222222" not in state["codes"]


def test_what_is_not_an_sms_is_refused_and_the_connection_goes_on(url: str) -> None:
    before = _taken(url)
    with httpx.Client(base_url=url) as client:
        not_json = client.post("/sms", content=b"{to:", headers={"content-type": "text/plain"})
        not_object = client.post("/sms", json=["+380501234567", "eHealth: 1234"])
        unknown = client.get("/sms/status")
        fine = client.post("/sms", json={"to": "+380503333333", "text": "eHealth: 3333"})
    assert (not_json.status_code, not_json.json()) == (400, {"error": "the body is not JSON"})
    assert not_object.status_code == 400
    assert unknown.status_code == 404
    assert (fine.status_code, fine.json()["id"]) == (200, f"fake-{before + 1}")


def _read_answer(stream: socket.socket, buffered: bytes) -> tuple[bytes, bytes]:
    """One answer (head and body, framed by Content-Length) and what came after it."""
    while b"\r\n\r\n" not in buffered:
        buffered += stream.recv(65536)
    head, rest = buffered.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += stream.recv(65536)
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def test_pipelined_requests_are_answered_in_order_and_close_is_honoured(url: str) -> None:
    before = _taken(url)
    port = int(url.rsplit(":", 1)[1])
    body = b'{"to": "+380504444444", "text": "eHealth: 4444"}'
    request = (
        b"POST /sms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    closing = request.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as stream:
        stream.sendall(request + request[:20])  # the second request split across two writes
        stream.sendall(request[20:] + closing)
        answers, rest = [], b""
        for _ in range(3):
            answer, rest = _read_answer(stream, rest)
            answers.append(answer)
        assert stream.recv(65536) == b""  # closed after the third, as asked
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert [a.rsplit(b"\r\n\r\n", 1)[1] for a in answers] == [
        b'{"id": "fake-%d"}' % (before + n) for n in (1, 2, 3)
    ]
    assert b"Connection: close" in answers[2]
