"""`/metrics`: Prometheus text, labelled by operation (never by raw path), outside the API."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from declaration_otp import demo
from tests.conftest import Backend, World, make_world, running_backend
from tests.servers import Server, cli

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient | httpx.Client, headers: dict[str, str] | None = None) -> Samples:
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` that has these labels (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_request_and_otp_metrics_follow_the_flow(backend: Backend, world: World) -> None:
    client = backend.client
    before = scrape(client)
    request = world.create_ok()
    verification_id = world.active_verification_id(request["id"])
    code = backend.code_of(verification_id)
    assert world.resend(request["id"]).status_code == 429  # the 60 s cooldown
    assert world.approve(request["id"], 100000 + (code - 99999) % 900000).status_code == 422
    assert world.approve(request["id"], code).status_code == 200
    assert client.get("/api/v3/declaration_requests/not-a-uuid", headers=world.headers).status_code
    after = scrape(client)

    requests = "dotp_http_requests_total"
    assert delta(before, after, requests, operation="create_declaration_request", status="201") == 1
    assert delta(before, after, requests, operation="resend_otp", status="429") == 1
    assert delta(before, after, requests, operation="approve_declaration_request") == 2
    assert delta(before, after, requests, operation="get_declaration_request", status="422") == 1
    # Labelled by operation: no raw path (ids) ever becomes a label.
    assert not [labels for (_, labels) in after if any(v.startswith("/") for _, v in labels)]
    latency = "dotp_http_request_duration_seconds_count"
    assert delta(before, after, latency, operation="resend_otp", status="429") == 1

    assert delta(before, after, "dotp_otp_codes_issued_total", flow="declaration_request") >= 1
    assert delta(before, after, "dotp_otp_rate_limited_total", limit="cooldown") >= 1
    assert delta(before, after, "dotp_otp_code_checks_total", outcome="invalid") >= 1
    assert delta(before, after, "dotp_otp_code_checks_total", outcome="verified") >= 1
    assert delta(before, after, "dotp_sms_queued_total") >= 1
    assert delta(before, after, "dotp_sms_sent_total", gateway="file") >= 1
    gateway_latency = "dotp_sms_gateway_duration_seconds_count"
    assert delta(before, after, gateway_latency, gateway="file", outcome="sent") >= 1
    assert value(after, "dotp_sms_circuit_state", gateway="file") == 0
    assert ("dotp_sms_outbox_oldest_due_age_seconds", frozenset()) in after


def test_outbox_age_is_read_from_the_database_at_scrape(tmp_path: Path) -> None:
    # No relay in this app: the SMS stays queued and ages with the app's clock.
    for backend in running_backend("metrics-outbox", tmp_path, relay_enabled=False):
        world = make_world(backend)
        assert value(scrape(backend.client), "dotp_sms_outbox_due") == 0
        world.create_ok()
        backend.clock.advance(42)
        samples = scrape(backend.client)
        assert value(samples, "dotp_sms_outbox_due") == 1
        assert 42 <= value(samples, "dotp_sms_outbox_oldest_due_age_seconds") < 60


def test_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    for backend in running_backend(
        "metrics-token", tmp_path, metrics_token="scrape-secret", relay_enabled=False
    ):
        client = backend.client
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "dotp_" not in refused.text
        scrape(client, {"Authorization": "Bearer scrape-secret"})
        # The API's own tokens do not open it, nor does the scrape token open the API.
        assert client.get("/health/live").status_code == 200


def assert_forked_from_supervisor(supervisor: int) -> None:
    """Workers are forks of the supervisor (same command line), not spawned interpreters
    (`python -c "from multiprocessing.spawn import spawn_main ..."`): see worker_processes."""
    if not Path("/proc/self/task").is_dir():
        return  # no procfs to look at: the rest of the test still runs
    command = Path(f"/proc/{supervisor}/cmdline").read_bytes()
    children = [
        int(pid)
        for task in Path(f"/proc/{supervisor}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    workers = [pid for pid in children if b"resource_tracker" not in _cmdline(pid)]
    assert len(workers) == 2
    assert all(_cmdline(pid) == command for pid in workers)


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str], Path]]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'workers.db'}",
        "SECRET_KEY": "metrics-test-secret-0123456789abcdef",
        "SMS_GATEWAY": "file",
        "SMS_FILE": str(tmp_path / "sms.jsonl"),
        "RELAY_POLL_SECONDS": "0.1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "TMPDIR": str(temp),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli(env, "migrate")
    cli(env, "registry", "load", str(demo.DEMO_REGISTRY_PATH))
    token = cli(
        env,
        "token",
        "issue",
        "--client-id",
        str(demo.DEMO_LEGAL_ENTITY_ID),
        "--user-id",
        "metrics",
        "--scope",
        "declaration_request:read",
    ).strip()
    server = Server(env, workers=2, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        yield server, {"Authorization": f"Bearer {token}"}, temp
    finally:
        server.stop()


def test_workers_share_metrics_and_log_json(
    two_workers: tuple[Server, dict[str, str], Path],
) -> None:
    server, headers, temp = two_workers
    assert_forked_from_supervisor(server.process.pid)
    request_ids = [f"{uuid.uuid4()}#{n}" for n in range(20)]
    for request_id in request_ids:
        # A new connection each time, so that both workers get some.
        response = httpx.get(
            f"{server.base}/api/v3/declaration_requests",
            headers={**headers, "X-Request-ID": request_id},
        )
        assert response.status_code == 200
    (metrics_dir,) = temp.glob("declaration-otp-metrics-*")
    pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("*.db")}
    assert len(pids) >= 1
    with httpx.Client(base_url=server.base) as client:
        for _ in range(4):  # whichever worker answers, it reports every worker's requests
            samples = scrape(client)
            listed = value(
                samples,
                "dotp_http_requests_total",
                operation="list_declaration_requests",
                status="200",
            )
            assert listed == 20
        assert client.get("/health/ready").status_code == 200
    server.stop()
    assert not list(temp.glob("declaration-otp-metrics-*")), "the metrics directory is left"

    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, uvicorn's included
    loggers = {record["logger"] for record in records}
    assert "uvicorn.error" in loggers
    started = [r for r in records if r["message"].startswith("Started server process")]
    assert len(started) == 2
    access = {r["request_id"] for r in records if r["logger"] == "declaration_otp.access"}
    assert set(request_ids) <= access
