"""`declaration-otp serve --demo` as a real process: the README's first command, end to end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from declaration_otp import demo
from tests.servers import sms_lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DemoServer:
    def __init__(self, process: subprocess.Popen[str], base: str, sms_file: Path) -> None:
        self.process, self.base, self.sms_file = process, base, sms_file
        self.output: list[str] = []

    def read_until(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"{pattern!r} never printed:\n{''.join(self.output)}")

    def code_for(self, verification_id: str, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in sms_lines(self.sms_file):
                if record["verification_id"] == verification_id:
                    return int(record["text"].rsplit(" ", 1)[-1])
            time.sleep(0.05)
        raise AssertionError(f"no SMS for {verification_id}")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    port = _free_port()
    sms_file = tmp_path / "sms.jsonl"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "SMS_GATEWAY": "file",
        "SMS_FILE": str(sms_file),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("OTP_RESEND_COOLDOWN_SECONDS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "declaration_otp.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DemoServer(process, f"http://127.0.0.1:{port}", sms_file)
    try:
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_printed_demo_flow_create_resend_approve(demo_server: DemoServer) -> None:
    token = demo_server.read_until(r"^TOKEN='(dotp_[^']+)'").group(1)
    demo_server.read_until(r"Application startup complete")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=demo_server.base, headers=headers, timeout=10) as client:
        created = client.post(
            "/api/v3/declaration_requests",
            json={
                "person_id": str(demo.DEMO_PERSON_OTP_ID),
                "employee_id": str(demo.DEMO_DOCTOR_ID),
                "division_id": str(demo.DEMO_DIVISION_ID),
            },
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["data"]["id"]

        resent = client.post(f"/api/v3/declaration_requests/{request_id}/actions/resend_otp")
        assert resent.status_code == 200, resent.text
        code = demo_server.code_for(resent.json()["data"]["id"])

        approved = client.patch(
            f"/api/v3/declaration_requests/{request_id}/actions/approve",
            json={"verification_code": code},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["data"]["status"] == "APPROVED"

        assert client.get("/api/ui/").status_code == 200
        assert client.get("/api/openapi.json").json()["openapi"].startswith("3.0")
    assert token not in "".join(demo_server.output[1:]).replace(f"TOKEN='{token}'", "")
