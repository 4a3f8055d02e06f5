"""`/health/live` and `/health/ready`: outside the public API, JSON, 200 or 503."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.ops_routes import relay_stale_after_seconds
from declaration_otp.settings import Settings
from tests.conftest import Backend, running_backend


def _ready(client: TestClient, timeout: float = 5.0) -> Any:
    """The readiness answer, once the relay's first round had a chance to run."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/health/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_live_needs_nothing(backend: Backend) -> None:
    response = backend.client.get("/health/live", headers={"X-Request-ID": "probe#1"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"] == "probe#1"
    assert response.headers["cache-control"] == "no-store"


def test_ready_checks_database_migrations_and_relay(backend: Backend) -> None:
    response = _ready(backend.client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["migrations"]["ok"] is True
    assert checks["migrations"]["revision"] == checks["migrations"]["head"]
    assert checks["relay"]["ok"] is True
    assert (
        0 <= checks["relay"]["heartbeat_age_seconds"] <= relay_stale_after_seconds(backend.settings)
    )


def test_ops_paths_are_not_part_of_the_api(backend: Backend) -> None:
    paths = backend.client.get("/api/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/health", "/metrics"))]
    refused = backend.client.post("/health/ready")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"


def test_schema_behind_the_migrations_is_not_ready(tmp_path: Path) -> None:
    for backend in running_backend("health-schema", tmp_path):
        assert _ready(backend.client).status_code == 200
        engine = sa.create_engine(backend.settings.database_url)
        with engine.begin() as connection:
            head = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        try:
            response = backend.client.get("/health/ready")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "not_ready"
            assert body["checks"]["database"] == {"ok": True}
            assert body["checks"]["migrations"] == {"ok": False, "revision": "0001", "head": head}
        finally:
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "UPDATE alembic_version SET version_num = :head", {"head": head}
                )
            engine.dispose()
        assert backend.client.get("/health/ready").status_code == 200


def test_unreachable_database_is_not_ready_but_alive(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}", relay_enabled=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health/live").status_code == 200
        response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {"ok": False, "error": "DatabaseUnavailable"}
    assert body["checks"]["migrations"]["ok"] is False
    assert "relay" not in body["checks"]  # RELAY_ENABLED=false: the relay runs elsewhere
    assert "sqlite" not in response.text.lower()


def test_relay_heartbeat_allows_a_whole_slow_batch() -> None:
    settings = Settings(
        relay_poll_seconds=1.0, http_connect_timeout_seconds=2, http_read_timeout_seconds=5
    )
    # A round may take a batch of sends (8 s each at most) and then recording them.
    assert relay_stale_after_seconds(settings) == 17.0
    assert relay_stale_after_seconds(settings.model_copy(update={"relay_poll_seconds": 5})) == 50
