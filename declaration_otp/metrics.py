"""Prometheus metrics: in-memory counters on the hot path, rendered at `/metrics`.

Updating a metric is a lock and an addition, never I/O. The one value that needs the database —
how long the oldest due SMS has been waiting — is read only when `/metrics` is scraped
(see `ops_routes.py`) and added to that one answer.

With `serve --workers N` (N > 1) the CLI points `PROMETHEUS_MULTIPROC_DIR` at a fresh directory
before the workers start; prometheus-client then keeps every value in a memory-mapped file per
process and a scrape of any worker sums them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from declaration_otp.worker_processes import MULTIPROC_ENV

# The classic text format, which every Prometheus version (and most other scrapers) reads.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
# Requests that matched no operation (Swagger UI, the bundled spec, unknown paths).
OTHER_OPERATION: Final = "other"

# The API answers in milliseconds; SMS providers in up to HTTP_READ_TIMEOUT_SECONDS.
_REQUEST_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_GATEWAY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "dotp_http_requests",
    "HTTP requests answered, by operation (the spec's operationId) and status.",
    ["operation", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "dotp_http_request_duration_seconds",
    "Time from the first byte of a request to the end of its response.",
    ["operation", "status"],
    buckets=_REQUEST_BUCKETS,
)
CODES_ISSUED = Counter(
    "dotp_otp_codes_issued",
    "Codes issued (each with one SMS queued), by flow.",
    ["flow"],
)
CODE_CHECKS = Counter(
    "dotp_otp_code_checks",
    "Counted code attempts, by outcome: verified, invalid, expired, exhausted.",
    ["outcome"],
)
REQUESTS_SHED = Counter(
    "dotp_http_requests_shed",
    "API requests refused with 503 because the worker had MAX_REQUESTS_IN_FLIGHT in hand.",
)
RATE_LIMITED = Counter(
    "dotp_otp_rate_limited",
    "Sends refused with 429, by the limit that refused them (cooldown or COUNT/SECONDS).",
    ["limit"],
)
SMS_QUEUED = Counter("dotp_sms_queued", "SMS written to the outbox.")
SMS_SENT = Counter("dotp_sms_sent", "SMS a gateway accepted, by gateway.", ["gateway"])
SMS_FAILED = Counter(
    "dotp_sms_failed",
    "SMS given up, by final status (failed, expired).",
    ["status"],
)
SMS_RETRIES = Counter("dotp_sms_retries", "Send attempts scheduled again, by gateway.", ["gateway"])
GATEWAY_SECONDS = Histogram(
    "dotp_sms_gateway_duration_seconds",
    "Time a gateway took to accept or refuse one SMS, by gateway and outcome.",
    ["gateway", "outcome"],
    buckets=_GATEWAY_BUCKETS,
)
CIRCUIT_STATE = Gauge(
    "dotp_sms_circuit_state",
    "SMS gateway circuit breaker: 0 closed, 1 half-open, 2 open (the worst of the processes).",
    ["gateway"],
    multiprocess_mode="livemax",
)
CIRCUIT_VALUES: Final = {"closed": 0, "half_open": 1, "open": 2}

_OUTCOMES: Final = {
    "verified": "verified",
    "Invalid verification code": "invalid",
    "Verification code expired": "expired",
    "Maximum attempts exceed": "exhausted",
}


def code_check(outcome: str) -> None:
    """Count one attempt by its `AttemptOutcome` value."""
    CODE_CHECKS.labels(outcome=_OUTCOMES.get(outcome, "other")).inc()


def operation_label(operation_id: str | None) -> str:
    """`handlers.declaration_requests.resend_otp` -> `resend_otp` (unique across handlers)."""
    return operation_id.rsplit(".", 1)[-1] if operation_id else OTHER_OPERATION


def observe_request(operation: str, method: str, status: int, seconds: float) -> None:
    code = str(status)
    REQUESTS.labels(operation=operation, method=method, status=code).inc()
    REQUEST_SECONDS.labels(operation=operation, status=code).observe(seconds)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Read from the database at scrape time."""

    due: int
    oldest_due_age_seconds: float


class _ScrapeValues(Collector):
    """Values computed for one scrape only."""

    def __init__(self, outbox: OutboxStats | None) -> None:
        self.outbox = outbox

    def collect(self) -> Iterable[GaugeMetricFamily]:
        if self.outbox is None:
            return
        yield GaugeMetricFamily(
            "dotp_sms_outbox_due",
            "Queued SMS whose send time has come (read from the database at scrape).",
            value=self.outbox.due,
        )
        yield GaugeMetricFamily(
            "dotp_sms_outbox_oldest_due_age_seconds",
            "How long the oldest due SMS has been waiting; 0 when none is due.",
            value=self.outbox.oldest_due_age_seconds,
        )


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render(outbox: OutboxStats | None) -> bytes:
    """The Prometheus text exposition: every process's values, plus the scrape-time gauges.

    Reads the per-process files in multi-process mode: call it off the event loop.
    """
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_ScrapeValues(outbox))
    return text + generate_latest(scrape)


def process_exit() -> None:
    """Drop this process's live gauges (multi-process mode), so a stopped worker's circuit
    state is not reported any more."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
