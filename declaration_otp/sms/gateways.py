"""SMS gateways: where a claimed message finally goes."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from declaration_otp.outbound import OutboundHttp
from declaration_otp.settings import Settings


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    message_id: str
    phone_number: str
    text: str
    declaration_request_id: str | None
    verification_id: str
    request_id: str | None
    sent_at: datetime


class SendFailed(Exception):
    """Delivery did not happen (or may not have); `transient` tells whether trying again may help.

    A transient failure also counts against the gateway's circuit breaker; a permanent one is the
    message's own fault (an invalid number) and says nothing about the gateway's health.
    `retry_after` is the provider's own wish (429 Retry-After), a floor for the next attempt.
    """

    def __init__(self, reason: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.transient = transient
        self.retry_after = retry_after


class SmsGateway(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> str | None:
        """Deliver `sms`; return the provider's message id, if it has one."""


class ConsoleGateway:
    """Development gateway: the SMS is printed on the server's standard output."""

    name = "console"

    async def send(self, sms: OutgoingSms) -> str | None:
        line = (
            f"[SMS to {sms.phone_number}] {sms.text}"
            f"  (declaration request {sms.declaration_request_id})"
        )
        await asyncio.to_thread(_print_line, line)
        return None


def _print_line(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


class FileGateway:
    """Appends one JSON object per message to a file: for demos and end-to-end tests."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, sms: OutgoingSms) -> str | None:
        record = {
            "message_id": sms.message_id,
            "phone_number": sms.phone_number,
            "text": sms.text,
            "declaration_request_id": sms.declaration_request_id,
            "verification_id": sms.verification_id,
            "request_id": sms.request_id,
            "sent_at": sms.sent_at.isoformat().replace("+00:00", "Z"),
        }
        try:
            await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))
        except OSError as error:
            raise SendFailed(
                f"cannot write {self.path}: {error.strerror}", transient=True
            ) from error
        return sms.message_id

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def gateway_from_settings(
    settings: Settings, http: OutboundHttp | None = None, name: str | None = None
) -> SmsGateway:
    """The gateway called `name` (by default SMS_GATEWAY), sending through the shared client."""
    name = name or settings.sms_gateway
    if name == "file":
        return FileGateway(settings.sms_file)
    if name in ("http", "twilio"):
        # Imported here: the provider gateways need the outbound client, the others do not.
        from declaration_otp.sms.provider_gateways import HttpGateway, TwilioGateway

        if http is None:
            raise ValueError(f"the {name} SMS gateway needs the shared HTTP client")
        if name == "http":
            return HttpGateway.from_settings(settings, http)
        return TwilioGateway.from_settings(settings, http)
    return ConsoleGateway()
