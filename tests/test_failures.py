"""When the database cannot be reached the client gets a clean 503, never a trace."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.settings import Settings


def test_unreachable_database_is_503_in_the_envelope(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}",
        relay_enabled=False,
        validate_responses=True,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v3/declaration_requests/3fa85f64-5717-4562-b3fc-2c963f66afa6/actions/resend_otp",
            # Well-formed, so that it reaches the database (malformed tokens never do).
            headers={"Authorization": f"Bearer dotp_{'a' * 43}", "X-Request-ID": "db-down#1"},
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["error"]["type"] == "internal_error"
    assert body["meta"] == {
        "code": 503,
        "url": "http://testserver/api/v3/declaration_requests/"
        "3fa85f64-5717-4562-b3fc-2c963f66afa6/actions/resend_otp",
        "type": "object",
        "request_id": "db-down#1",
    }
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()
