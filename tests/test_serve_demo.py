"""`declaration-otp serve --demo` as a real process: the README's first command, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from declaration_otp import demo
from tests.servers import DemoServer, running_demo


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    with running_demo(tmp_path) as server:
        yield server


def test_printed_demo_flow_create_resend_approve(demo_server: DemoServer) -> None:
    token = demo_server.token
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
