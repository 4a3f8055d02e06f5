"""Circuit breakers per gateway, and the choice of gateway for the next batch.

Breaker state lives in process memory on purpose: it only spares calls to a provider that is
down. Delivery state (what was sent, what is due) lives in the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from declaration_otp import metrics
from declaration_otp.sms.gateways import SmsGateway

logger = logging.getLogger(__name__)

Monotonic = Callable[[], float]


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Closed → (N consecutive failures) → open for a cool-off → half-open: one probe decides."""

    name: str
    failure_threshold: int
    cooloff_seconds: float
    monotonic: Monotonic = time.monotonic
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = field(default=False)

    def __post_init__(self) -> None:
        self._publish()

    def _publish(self) -> None:
        """The state as the `dotp_sms_circuit_state` gauge (0 closed, 1 half-open, 2 open)."""
        value = metrics.CIRCUIT_VALUES[self.state.value]
        metrics.CIRCUIT_STATE.labels(gateway=self.name).set(value)

    def _cooled_off(self) -> bool:
        return self.monotonic() - self.opened_at >= self.cooloff_seconds

    def available(self) -> bool:
        """Whether a call may be made now (in half-open: only the one probe)."""
        if self.state is CircuitState.CLOSED:
            return True
        if self.state is CircuitState.OPEN and self._cooled_off():
            self.state = CircuitState.HALF_OPEN
            self.probing = False
            self._publish()
        return self.state is CircuitState.HALF_OPEN and not self.probing

    def start_probe(self) -> None:
        if self.state is CircuitState.HALF_OPEN:
            self.probing = True

    def cancel_probe(self) -> None:
        """The probe found nothing to send: the next message may probe."""
        self.probing = False

    def seconds_until_probe(self) -> float:
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self.cooloff_seconds - (self.monotonic() - self.opened_at))

    def record_success(self) -> None:
        if self.state is not CircuitState.CLOSED:
            logger.info("SMS gateway %s answers again: circuit closed", self.name)
        self.state, self.failures, self.probing = CircuitState.CLOSED, 0, False
        self._publish()

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN or self.failures >= self.failure_threshold:
            if self.state is not CircuitState.OPEN:
                logger.warning(
                    "SMS gateway %s: %d consecutive failures, circuit open for %g s",
                    self.name,
                    self.failures,
                    self.cooloff_seconds,
                )
            self.state, self.opened_at, self.probing = CircuitState.OPEN, self.monotonic(), False
            self._publish()


@dataclass(frozen=True, slots=True)
class Route:
    gateway: SmsGateway
    breaker: CircuitBreaker
    # A half-open breaker gets one message to probe with, not a batch.
    probe: bool


class GatewayRouter:
    """Primary while its circuit allows, the fallback (if any) while the primary's is open."""

    def __init__(
        self,
        primary: SmsGateway,
        fallback: SmsGateway | None,
        *,
        failure_threshold: int,
        cooloff_seconds: float,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self._routes = [
            (primary, CircuitBreaker(primary.name, failure_threshold, cooloff_seconds, monotonic))
        ]
        if fallback is not None:
            self._routes.append(
                (
                    fallback,
                    CircuitBreaker(fallback.name, failure_threshold, cooloff_seconds, monotonic),
                )
            )

    def breaker(self, name: str) -> CircuitBreaker:
        return next(breaker for gateway, breaker in self._routes if gateway.name == name)

    def pick(self) -> Route | None:
        """Where the next batch goes, or None while every circuit is open."""
        for gateway, breaker in self._routes:
            if breaker.available():
                probe = breaker.state is CircuitState.HALF_OPEN
                if probe:
                    breaker.start_probe()
                return Route(gateway, breaker, probe)
        return None

    def steady_route(self) -> Route | None:
        """Where a new message can go at once, outside the relay's batches: the first gateway
        whose circuit is closed. None while a circuit before it is due a probe (the relay's
        loop sends probes, one message each) or every circuit is open."""
        for gateway, breaker in self._routes:
            if breaker.state is CircuitState.CLOSED:
                return Route(gateway, breaker, probe=False)
            if breaker.available():
                return None
        return None

    def seconds_until_probe(self) -> float:
        return min(breaker.seconds_until_probe() for _, breaker in self._routes)
