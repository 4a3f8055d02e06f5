"""The relay: claims due outbox rows, hands them to a gateway and records what happened.

One batch at a time, its messages sent concurrently; each send is bounded by
`Settings.sms_send_deadline_seconds`, well inside the claim, so no other relay takes a message
while it is in flight. Beside the batches, a message claimed in the transaction that queued it
(see sms/dispatch.py) is sent as soon as that transaction commits; at most
`RELAY_BATCH_SIZE` such sends are in flight. See docs/sms-delivery.md for what is and is not
promised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlmodel import Session

from declaration_otp import metrics
from declaration_otp.database import DatabaseUnavailable
from declaration_otp.logging_setup import bound_request_id
from declaration_otp.randomness import random_uuid, time_ordered_uuid
from declaration_otp.runtime import Services
from declaration_otp.sms.circuit import GatewayRouter, Route
from declaration_otp.sms.gateways import OutgoingSms, SendFailed, gateway_from_settings
from declaration_otp.sms.outbox import (
    BirthClaim,
    ClaimedSms,
    SendOutcome,
    SmsStatus,
    claim_due,
    record_final,
    record_retry,
    release,
)
from declaration_otp.sms.result_batches import ResultWriter
from declaration_otp.sms.sent_results import SentResult

logger = logging.getLogger(__name__)

T = TypeVar("T")


def retry_delay(
    attempt: int, *, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
) -> float:
    """Capped exponential backoff with full jitter: uniform(0, min(cap, base * 2^(attempt-1)))."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


class _Once:
    """`action`, run at the first call only."""

    __slots__ = ("_action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self._action: Callable[[], None] | None = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()


def _nothing() -> None:
    """`answered` of a send no slot waits on (one of a claimed batch)."""


def destination_allowed(phone_number: str, prefixes: tuple[str, ...]) -> bool:
    return any(phone_number.startswith(prefix) for prefix in prefixes)


def _observe_gateway(route: Route, outcome: str, started: float) -> None:
    seconds = time.perf_counter() - started
    metrics.GATEWAY_SECONDS.labels(gateway=route.gateway.name, outcome=outcome).observe(seconds)


@dataclass(frozen=True, slots=True)
class SendSlot:
    """One message this relay has promised to send as soon as its transaction commits."""

    route: Route
    claim: BirthClaim


class Relay:
    def __init__(self, services: Services, router: GatewayRouter) -> None:
        self.services = services
        self.router = router
        self._blocked = False
        # Claims taken at birth (reserved slots and the sends in flight); only while `run` runs.
        self._accepting = False
        self._slots = 0
        self._direct: set[asyncio.Task[None]] = set()
        self._results = ResultWriter(services.database)

    @classmethod
    def from_services(cls, services: Services) -> Relay:
        settings = services.settings
        primary = gateway_from_settings(settings, services.http)
        fallback = (
            gateway_from_settings(settings, services.http, settings.sms_fallback_gateway)
            if settings.sms_fallback_gateway
            else None
        )
        router = GatewayRouter(
            primary,
            fallback,
            failure_threshold=settings.sms_circuit_failures,
            cooloff_seconds=settings.sms_circuit_cooloff_seconds,
        )
        return cls(services, router)

    def reserve(self) -> SendSlot | None:
        """A claim for a message about to be queued, when this relay can send it the moment its
        transaction commits: the relay runs, fewer than `RELAY_BATCH_SIZE` such sends are
        reserved or in flight, and a gateway's circuit is closed. Else None: the message is
        queued, and claimed by a batch."""
        settings = self.services.settings
        if not self._accepting or self._slots >= settings.relay_batch_size:
            return None
        route = self.router.steady_route()
        if route is None:
            return None
        self._slots += 1
        claim = BirthClaim(
            gateway=route.gateway.name,
            claim_token=random_uuid(),
            attempt_id=time_ordered_uuid(),
            seconds=settings.relay_claim_seconds,
        )
        return SendSlot(route, claim)

    def release(self, _slot: SendSlot) -> None:
        """The slot's transaction did not queue a message (it failed, or sent nothing)."""
        self._slots -= 1

    def send_claimed(self, slot: SendSlot, message: ClaimedSms) -> None:
        """Send `message`, claimed by `slot` in a transaction that has committed."""
        if not self._accepting:
            # Stopping: the claim expires and any relay sends the message (sms-delivery.md).
            self._slots -= 1
            logger.info("relay: stopping; message %s is left to its claim's expiry", message.id)
            return
        # The slot is free once the gateway has answered: writing the result down (batched with
        # others: see result_batches) is not a send in flight.
        free = _Once(self._free_slot)
        task = asyncio.create_task(
            self._deliver(message, slot.route, answered=free), name="sms-send"
        )
        self._direct.add(task)
        task.add_done_callback(lambda done: self._direct_done(done, free))

    def _free_slot(self) -> None:
        self._slots -= 1

    def _direct_done(self, task: asyncio.Task[None], free: _Once) -> None:
        self._direct.discard(task)
        free()
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("relay: a send failed unexpectedly", exc_info=error)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; the batch in hand and the sends in flight are finished
        first (when cancelled, they give their messages back: see `_send_one`)."""
        self._accepting = True
        try:
            await self._run_batches(stop)
            self._accepting = False
            await asyncio.gather(*self._direct, return_exceptions=True)
        finally:
            self._accepting = False
            pending = [task for task in self._direct if not task.done()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run_batches(self, stop: asyncio.Event) -> None:
        settings = self.services.settings
        while not stop.is_set():
            self.services.relay_heartbeat = time.monotonic()
            try:
                handled = await self.deliver_due()
            except DatabaseUnavailable as error:
                logger.warning("relay: database unavailable: %s", error)
                handled = 0
            except Exception:
                logger.exception("relay: unexpected error; retrying after a pause")
                handled = 0
            if handled:
                continue
            pause = settings.relay_poll_seconds
            if self._blocked:
                # Every circuit is open: look again when the first one may be probed.
                pause = max(0.05, min(pause, self.router.seconds_until_probe()))
            await self._wait_for_work(stop, pause)

    async def _wait_for_work(self, stop: asyncio.Event, seconds: float) -> None:
        queued = self.services.sms_queued
        waiters = [asyncio.ensure_future(queued.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        queued.clear()

    async def deliver_due(self) -> int:
        """Claim one batch for the gateway whose circuit allows it; returns how many."""
        settings = self.services.settings
        route = self.router.pick()
        self._blocked = route is None
        if route is None:
            return 0
        now = self.services.clock()
        batch = await self.services.database.write(
            lambda session: claim_due(
                session,
                now=now,
                limit=1 if route.probe else settings.relay_batch_size,
                claim_seconds=settings.relay_claim_seconds,
                gateway=route.gateway.name,
            )
        )
        if not batch:
            if route.probe:
                route.breaker.cancel_probe()
            return 0
        await asyncio.gather(*(self._deliver(message, route) for message in batch))
        if route.probe:
            # An expired message is settled without a call: no verdict, the next one probes.
            route.breaker.cancel_probe()
        return len(batch)

    async def _deliver(
        self, message: ClaimedSms, route: Route, *, answered: Callable[[], None] | None = None
    ) -> None:
        # Each message is its own task: its log lines carry the id of the request that queued it.
        with bound_request_id(message.request_id):
            await self._send_one(message, route, answered or _nothing)

    async def _send_one(
        self, message: ClaimedSms, route: Route, answered: Callable[[], None]
    ) -> None:
        """Send and record the outcome; `answered` is called once no call to the gateway is
        in flight any more (before the outcome is recorded)."""
        services = self.services
        settings = services.settings
        now = services.clock()
        if message.expires_at <= now or message.body_ciphertext is None:
            answered()
            await self._final(message, SmsStatus.EXPIRED, "code expired before delivery")
            return
        if not destination_allowed(message.phone_number, settings.allowed_sms_prefixes):
            answered()
            await self._final(message, SmsStatus.FAILED, "destination not in SMS_ALLOWED_PREFIXES")
            return
        sms = OutgoingSms(
            message_id=str(message.id),
            phone_number=message.phone_number,
            text=services.secrets.open_sms(message.id, message.body_ciphertext),
            declaration_request_id=(
                str(message.declaration_request_id) if message.declaration_request_id else None
            ),
            verification_id=str(message.verification_id),
            request_id=message.request_id,
            sent_at=now,
        )
        started = time.perf_counter()
        try:
            try:
                provider_id = await asyncio.wait_for(
                    route.gateway.send(sms), timeout=settings.sms_send_deadline_seconds
                )
            finally:
                answered()
        except SendFailed as failure:
            _observe_gateway(route, "failed", started)
            if failure.transient:
                route.breaker.record_failure()
            else:
                route.breaker.record_success()  # it answered: the gateway itself is fine
            await self._after_failure(message, str(failure), failure)
            return
        except TimeoutError:
            _observe_gateway(route, "timeout", started)
            route.breaker.record_failure()
            await self._after_failure(message, "no answer within the send deadline", None)
            return
        except asyncio.CancelledError:
            # Stopping past the grace period: give the message back now, not at claim expiry.
            await asyncio.shield(self._release(message))
            raise
        except Exception as error:  # a gateway bug must not lose the message
            logger.exception("relay: gateway %s raised", route.gateway.name)
            _observe_gateway(route, "error", started)
            route.breaker.record_failure()
            await self._after_failure(message, type(error).__name__, None)
            return
        _observe_gateway(route, "sent", started)
        route.breaker.record_success()
        metrics.SMS_SENT.labels(gateway=route.gateway.name).inc()
        logger.info(
            "relay: message %s sent via %s (attempt %d)",
            message.id,
            route.gateway.name,
            message.attempts,
        )
        # As data: the result writer records a run of these together (see sent_results).
        await self._write(SentResult(message, provider_id, services.clock()))

    async def _after_failure(
        self, message: ClaimedSms, reason: str, failure: SendFailed | None
    ) -> None:
        settings = self.services.settings
        transient = failure is None or failure.transient
        if not transient or message.attempts >= settings.sms_max_attempts:
            await self._final(message, SmsStatus.FAILED, reason)
            return
        now = self.services.clock()
        delay = retry_delay(
            message.attempts,
            base=settings.relay_backoff_base_seconds,
            cap=settings.relay_backoff_cap_seconds,
        )
        if failure is not None and failure.retry_after is not None:
            delay = max(delay, min(failure.retry_after, settings.relay_backoff_cap_seconds))
        retry_at = now + timedelta(seconds=delay)
        if retry_at >= message.expires_at:
            await self._final(
                message, SmsStatus.EXPIRED, f"{reason}; the code expires before another attempt"
            )
            return
        logger.info("relay: message %s will be retried in %.2f s (%s)", message.id, delay, reason)
        metrics.SMS_RETRIES.labels(gateway=message.gateway).inc()
        await self._write(
            lambda session: record_retry(session, message, error=reason, retry_at=retry_at, now=now)
        )

    async def _final(self, message: ClaimedSms, status: SmsStatus, reason: str) -> None:
        now = self.services.clock()
        outcome = SendOutcome.EXPIRED if status is SmsStatus.EXPIRED else SendOutcome.FAILED
        logger.warning("relay: message %s is %s: %s", message.id, status.value, reason)
        metrics.SMS_FAILED.labels(status=status.value).inc()
        await self._write(
            lambda session: record_final(
                session, message, status=status, outcome=outcome, error=reason, now=now
            )
        )

    async def _release(self, message: ClaimedSms) -> None:
        now = self.services.clock()
        reason = "relay stopped while sending; the provider may have received it"
        await self._write(lambda session: release(session, message, reason=reason, now=now))

    async def _write(self, work: Callable[[Session], T]) -> T | None:
        """Record a result, riding out a short database outage; the claim covers the rest.
        Results are written with prepared statements alone, with those that came in beside
        them (see result_batches)."""
        return await self._results.write(work)
