"""The relay: claims due outbox rows, hands them to the gateway and records what happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from declaration_otp.database import DatabaseUnavailable
from declaration_otp.runtime import Services
from declaration_otp.sms.gateways import OutgoingSms, SendFailed, SmsGateway
from declaration_otp.sms.outbox import (
    ClaimedSms,
    SmsStatus,
    claim_due,
    mark_final,
    mark_retry,
    mark_sent,
)

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


def retry_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


class Relay:
    def __init__(self, services: Services, gateway: SmsGateway) -> None:
        self.services = services
        self.gateway = gateway

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.services.settings
        while not stop.is_set():
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
            await self._wait_for_work(stop, settings.relay_poll_seconds)

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
        """Claim one batch and settle each message; returns how many were claimed."""
        settings = self.services.settings
        now = self.services.clock()
        batch = await self.services.database.write(
            lambda session: claim_due(
                session,
                now=now,
                limit=settings.relay_batch_size,
                claim_seconds=settings.relay_claim_seconds,
            )
        )
        for message in batch:
            await self._deliver(message)
        return len(batch)

    async def _deliver(self, message: ClaimedSms) -> None:
        services = self.services
        now = services.clock()
        if message.expires_at <= now or message.body_ciphertext is None:
            await self._settle_final(message, SmsStatus.EXPIRED, "code expired before delivery")
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
        try:
            provider_id = await self.gateway.send(sms)
        except SendFailed as failure:
            await self._after_failure(message, str(failure), transient=failure.transient)
            return
        except Exception as error:  # a gateway bug must not lose the message
            logger.exception("relay: gateway %s raised", self.gateway.name)
            await self._after_failure(message, type(error).__name__, transient=True)
            return
        done_at = services.clock()
        await services.database.write(
            lambda session: mark_sent(
                session, message_id=message.id, provider_message_id=provider_id, now=done_at
            )
        )

    async def _after_failure(self, message: ClaimedSms, reason: str, *, transient: bool) -> None:
        settings = self.services.settings
        if not transient or message.attempts >= settings.sms_max_attempts:
            await self._settle_final(message, SmsStatus.FAILED, reason)
            return
        now = self.services.clock()
        retry_at = now + timedelta(seconds=retry_delay(message.attempts))
        logger.info("relay: message %s will be retried (%s)", message.id, reason)
        await self.services.database.write(
            lambda session: mark_retry(
                session, message_id=message.id, error=reason, retry_at=retry_at, now=now
            )
        )

    async def _settle_final(self, message: ClaimedSms, status: SmsStatus, reason: str) -> None:
        now = self.services.clock()
        logger.warning("relay: message %s is %s: %s", message.id, status.value, reason)
        await self.services.database.write(
            lambda session: mark_final(
                session, message_id=message.id, status=status, error=reason, now=now
            )
        )
