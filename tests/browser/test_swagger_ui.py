"""Swagger UI at /api/ui/ in a real headless browser, with no internet access: every operation is
shown, and "Authorize" (client credentials: the demo legal entity + the demo token) followed by
"Try it out" on resend_otp answers 200."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from declaration_otp import demo
from tests.browser.conftest import OfflinePage
from tests.servers import DemoServer

pytestmark = pytest.mark.browser

RESEND_PATH = "/api/v3/declaration_requests/{id}/actions/resend_otp"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def spec_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }


def shown_operations(page: Any) -> set[tuple[str, str]]:
    page.wait_for_selector(".opblock", timeout=20_000)
    pairs = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').getAttribute('data-path')])""",
    )
    return {(method.upper(), path) for method, path in pairs}


def test_swagger_ui_offline_authorize_and_try_resend_otp(
    demo_server: DemoServer, offline_page: OfflinePage
) -> None:
    token = demo_server.token
    with httpx.Client(base_url=demo_server.base, timeout=10) as client:
        spec = client.get("/api/openapi.json").json()
        created = client.post(
            "/api/v3/declaration_requests",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "person_id": str(demo.DEMO_PERSON_OTP_ID),
                "employee_id": str(demo.DEMO_DOCTOR_ID),
                "division_id": str(demo.DEMO_DIVISION_ID),
            },
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["data"]["id"]

    page = offline_page.page
    page.goto(f"{demo_server.base}/api/ui/")
    assert shown_operations(page) == spec_operations(spec)

    # Authorize: OAuth2 client credentials, client_id = legal entity, client_secret = the token.
    page.click("button.authorize")
    page.fill("#client_id", str(demo.DEMO_LEGAL_ENTITY_ID))
    page.fill("#client_secret", token)
    page.click(".auth-container button.authorize")
    page.locator(".auth-container button", has_text="Logout").wait_for(timeout=10_000)
    page.click("button.btn-done")

    block = page.locator(".opblock", has=page.locator(f'[data-path="{RESEND_PATH}"]'))
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator('input[placeholder="id"]').fill(request_id)
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=15_000)
    assert status.inner_text().strip().startswith("200"), block.locator(
        ".live-responses-table"
    ).inner_text()
    body = block.locator(".live-responses-table .microlight").first.inner_text()
    assert '"active": true' in body or '"active":true' in body

    assert offline_page.blocked == [], "Swagger UI tried to reach the internet"


def test_swagger_ui_references_no_outside_asset(demo_server: DemoServer) -> None:
    html = httpx.get(f"{demo_server.base}/api/ui/", timeout=10).text
    for marker in ("http://", "https://", "//cdn", "unpkg", "jsdelivr"):
        assert marker not in html.replace(demo_server.base, ""), marker
