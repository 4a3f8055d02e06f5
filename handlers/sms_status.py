"""Delivery status reports from SMS providers (Twilio-style form callbacks).

Not behind the bearer-token scheme (providers cannot hold our tokens): each report is
authenticated here, before anything in it is used, by Twilio's request signature or by a shared
secret. Applying a report is idempotent; a status only moves forward.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from connexion import request as current_request

from declaration_otp.envelope import Ok
from declaration_otp.errors import ApiError, invalid_entry, not_found, validation_failed
from declaration_otp.runtime import Services
from declaration_otp.settings import Settings
from declaration_otp.sms.delivery_status import (
    StatusReport,
    apply_report,
    secret_matches,
    signature_matches,
)

logger = logging.getLogger(__name__)

INVALID_SIGNATURE = "Invalid callback signature"
_LIMITS = {"MessageSid": 100, "MessageStatus": 40, "ErrorCode": 20, "ErrorMessage": 300}


def _form(body: Any) -> dict[str, str]:
    """Form fields as the provider sent them (one value each), for the signature and the rest."""
    if not isinstance(body, dict):
        return {}
    form: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, list):
            value = value[-1] if value else ""
        form[str(key)] = "" if value is None else str(value)
    return form


def _signed_url(settings: Settings) -> str:
    """The URL the provider called, as it knows it: our public base (behind a proxy) + path."""
    url = current_request.url
    if settings.sms_status_callback_base_url:
        base = settings.sms_status_callback_base_url.rstrip("/")
        query = f"?{url.query}" if url.query else ""
        return f"{base}{url.path}{query}"
    return str(url)


def _authenticated(provider: str, form: dict[str, str], settings: Settings) -> bool:
    headers = current_request.headers
    signature = headers.get("x-twilio-signature")
    token = settings.twilio_auth_token
    if (
        provider == "twilio"
        and signature
        and token is not None
        and signature_matches(_signed_url(settings), form, token.get_secret_value(), signature)
    ):
        return True
    secret = settings.sms_status_callback_secret
    return secret is not None and secret_matches(
        secret.get_secret_value(), headers.get("x-callback-secret")
    )


def _report(provider: str, form: dict[str, str], message_id: str | None) -> StatusReport:
    invalid = [
        invalid_entry(f"$.{name}", "required property", rule="required")
        for name in ("MessageSid", "MessageStatus")
        if not form.get(name)
    ]
    invalid += [
        invalid_entry(f"$.{name}", f"expected length to be at most {limit}", rule="length")
        for name, limit in _LIMITS.items()
        if len(form.get(name, "")) > limit
    ]
    if invalid:
        raise validation_failed(invalid)
    return StatusReport(
        gateway=provider,
        provider_message_id=form["MessageSid"],
        provider_status=form["MessageStatus"].strip().lower(),
        message_id=uuid.UUID(message_id) if message_id else None,
        error_code=form.get("ErrorCode") or None,
        error_message=form.get("ErrorMessage") or None,
    )


async def receive_status(
    *, provider: str, services: Services, body: Any = None, message_id: str | None = None
) -> Ok:
    form = _form(body)
    if not _authenticated(provider, form, services.settings):
        logger.warning("SMS status callback for %s refused: bad or missing signature", provider)
        raise ApiError(401, "access_denied", INVALID_SIGNATURE)
    report = _report(provider, form, message_id)
    now = services.clock()
    applied = await services.database.write(lambda session: apply_report(session, report, now=now))
    if applied is None:
        raise not_found("SMS message not found")
    return Ok(
        data={
            "id": str(applied.message_id),
            "status": applied.status.value,
            "changed": applied.changed,
        }
    )
