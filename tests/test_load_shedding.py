"""MAX_REQUESTS_IN_FLIGHT: past it a worker refuses API requests at once with a 503 in the
eHealth envelope, and serves again as soon as one in hand is answered."""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend, make_world, running_backend


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from running_backend(
        "shedding", tmp_path_factory.mktemp("shedding"), max_requests_in_flight=1
    )


def _writers_held(backend: Backend) -> Any:
    """Hold the lock every SQLite writer of the file queues on (see database._WriterQueue):
    a write request waits, in flight, until it is let go."""
    database = backend.settings.database_url.removeprefix("sqlite:///")
    lock = Path(f"{database}-lock").open("a")  # noqa: SIM115 - closed by the caller
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def test_a_request_past_the_bound_is_refused_at_once_and_the_worker_serves_again(
    backend: Backend,
) -> None:
    world = make_world(backend)
    request = world.create_ok()
    backend.clock.advance(61)
    path = f"/api/v3/declaration_requests/{request['id']}"
    assert backend.client.get(path, headers=world.headers).status_code == 200

    lock = _writers_held(backend)
    resent: list[Any] = []

    def resend() -> threading.Thread:
        resent.clear()
        thread = threading.Thread(target=lambda: resent.append(world.resend(request["id"])))
        thread.start()
        return thread

    writer = resend()
    try:
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "the resend never was in flight"
            if not writer.is_alive():
                # It can only have ended refused, arriving while a probe was in flight.
                assert resent[0].status_code == 503, resent[0].text
                writer = resend()
            refused = backend.client.get(path, headers=world.headers)
            if refused.status_code == 503:
                break
            time.sleep(0.01)
        # The probes still answer while the API refuses.
        assert backend.client.get("/health/live").status_code == 200
        metrics = backend.client.get("/metrics").text
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        writer.join(timeout=10)

    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["X-Request-ID"]
    body = refused.json()
    assert body["meta"]["code"] == 503
    assert body["meta"]["request_id"] == refused.headers["X-Request-ID"]
    assert body["error"] == {
        "type": "internal_error",
        "message": "Service temporarily unavailable, retry later",
    }
    shed = [
        line for line in metrics.splitlines() if line.startswith("dotp_http_requests_shed_total")
    ]
    assert shed and float(shed[0].split()[-1]) >= 1, shed
    # The request in hand was not disturbed, and the worker serves again.
    assert resent[0].status_code == 200, resent[0].text
    assert backend.client.get(path, headers=world.headers).status_code == 200
