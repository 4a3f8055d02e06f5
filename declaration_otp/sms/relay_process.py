"""`declaration-otp relay`: the SMS relay as its own process, stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from declaration_otp.runtime import Services
from declaration_otp.settings import Settings
from declaration_otp.sms.relay import Relay

logger = logging.getLogger(__name__)


async def run_relay(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Relay until SIGTERM or SIGINT; then finish the batch in hand within the grace period,
    and give back whatever is still claimed after it."""
    services = Services.build(settings)
    relay = Relay.from_services(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(relay.run(stop), name="sms-relay")
    logger.info(
        "relay started: gateway %s%s, batch %d, poll %g s",
        settings.sms_gateway,
        f", fallback {settings.sms_fallback_gateway}" if settings.sms_fallback_gateway else "",
        settings.relay_batch_size,
        settings.relay_poll_seconds,
    )
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
        logger.info("relay stopping: finishing the messages in hand")
        try:
            await asyncio.wait_for(task, timeout=settings.relay_shutdown_grace_seconds)
        except TimeoutError:
            logger.warning("relay: grace period over, claimed messages given back")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.aclose()
    logger.info("relay stopped")
