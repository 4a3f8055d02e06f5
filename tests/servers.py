"""Real processes for production-shaped tests: a private PostgreSQL server and `serve`.

The private server exists so a test can restart it without disturbing anything else that uses
the machine's shared PostgreSQL.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; under CI a missing prerequisite is a failure."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster owned by one test module."""

    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        subprocess.run(_as_postgres(command), check=check, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        log = str(self.data_dir / "server.log")
        self._ctl("-w", "-t", "30", "-o", options, "-l", log, "start")

    def stop(self) -> None:
        self._ctl("-w", "-t", "30", "-m", "fast", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and the sandbox run tests as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        unavailable("PostgreSQL server binaries (initdb) are not installed")
    bin_dir = Path(candidates[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="dotp-pg-"))
    data_dir = root / "data"
    data_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data_dir, "postgres")
    init = [str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres(init), check=True, capture_output=True, timeout=120)
    server = PrivatePostgres(bin_dir=bin_dir, data_dir=data_dir, port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def write_registry(path: Path, *, people: int) -> tuple[dict[str, Any], list[str]]:
    """A registry with one clinic, one doctor and `people` OTP patients with distinct phones."""
    legal_entity, division, doctor = (str(uuid.uuid4()) for _ in range(3))
    persons = []
    for index in range(people):
        persons.append(
            {
                "id": str(uuid.uuid4()),
                "first_name": "Марія",
                "last_name": f"Шевченко-{index}",
                "birth_date": "1988-03-09",
                "authentication_methods": [
                    {
                        "id": str(uuid.uuid4()),
                        "type": "OTP",
                        "phone_number": f"+38067{index:07d}",
                    }
                ],
            }
        )
    registry = {
        "legal_entities": [
            {
                "id": legal_entity,
                "name": "Амбулаторія загальної практики",
                "short_name": "АЗП",
                "edrpou": "12345678",
            }
        ],
        "divisions": [{"id": division, "legal_entity_id": legal_entity, "name": "Відділення 1"}],
        "employees": [
            {
                "id": doctor,
                "legal_entity_id": legal_entity,
                "employee_type": "DOCTOR",
                "position": "P2",
                "first_name": "Оксана",
                "last_name": "Бондар",
            }
        ],
        "persons": persons,
    }
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    return registry, [person["id"] for person in persons]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "declaration_otp.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


class Server:
    """`declaration-otp serve` as a real process (optionally several workers)."""

    def __init__(self, env: dict[str, str], *, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "declaration_otp.cli", "serve",
                "--port", str(self.port), "--workers", str(workers),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.log_path = log

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        # One client for all the polls: each `httpx.get` would build a TLS context (tens of ms
        # of CPU) beside a server that is starting.
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited:\n{self.log_path.read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base}/api/openapi.json").status_code == 200:
                        return
                time.sleep(0.1)
        raise AssertionError(f"server not ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def sms_lines(path: Path) -> list[dict[str, Any]]:
    """Complete JSON lines of an SMS file; a line still being appended is left for later."""
    if not path.exists():
        return []
    *complete, _partial = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in complete if line.strip()]


class DemoServer:
    """`declaration-otp serve --demo` as a real process, with what it printed."""

    def __init__(self, process: subprocess.Popen[str], base: str, sms_file: Path) -> None:
        self.process, self.base, self.sms_file = process, base, sms_file
        self.output: list[str] = []
        self.token = ""

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


@contextlib.contextmanager
def running_demo(tmp_path: Path) -> Iterator[DemoServer]:
    """The README's first command in `tmp_path`, up and serving, its demo token read."""
    port = free_port()
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
        server.token = server.read_until(r"^TOKEN='(dotp_[^']+)'").group(1)
        server.read_until(r"Application startup complete")
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
