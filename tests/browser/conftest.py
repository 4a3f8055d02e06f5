"""Headless Chromium (Debian's `chromium`, driven by Playwright) for the documentation tests.

The browser is the system one (`/usr/bin/chromium`, or CHROMIUM_PATH); Playwright's own browser
downloads are never used. Every request a page makes to anything but this machine is blocked and
recorded, so a test can assert that the docs work with no internet access. Without Chromium the
tests skip with the reason, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_serve_demo import DemoServer, _free_port

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    candidate = candidate or shutil.which("chromium-browser")
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium not found: apt-get install chromium (or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class OfflinePage:
    """A page on which every request off this machine is aborted and remembered."""

    def __init__(self, browser: object) -> None:
        self.context = browser.new_context()  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "blob") or parts.hostname in LOCAL_HOSTS:
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline_page(browser: object) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    try:
        yield page
    finally:
        page.close()


class BrowserDemo(DemoServer):
    token: str


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserDemo]:
    """`declaration-otp serve --demo` as a real process, started, with its printed demo token."""
    tmp_path = tmp_path_factory.mktemp("browser-demo")
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
    server = BrowserDemo(process, f"http://127.0.0.1:{port}", sms_file)
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
