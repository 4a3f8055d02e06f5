"""Real SMS providers over HTTP: a generic JSON webhook and Twilio's Messages API.

Both send through the app's one shared outbound client (`outbound.py`: explicit connect/read
timeouts) and
turn every outcome into a provider message id or a `SendFailed` that says whether a retry may
help. Credentials come from settings and never reach a log or an error text; provider error texts
are stripped of phone numbers before they are stored.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from declaration_otp.outbound import FailureKind, HttpAnswer, OutboundFailure, OutboundHttp
from declaration_otp.phone import mask_phone
from declaration_otp.settings import Settings
from declaration_otp.sms.gateways import OutgoingSms, SendFailed

logger = logging.getLogger(__name__)

_PHONE_LIKE = re.compile(r"\+?\d{9,16}")
TWILIO_API_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"
STATUS_CALLBACK_PATH = "/api/sms/status/{provider}"


def redact(text: str, limit: int = 300) -> str:
    """A provider's error text, fit to store: phone numbers masked, length capped."""
    return _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)) or "", text)[:limit]


def _retry_after(response: HttpAnswer) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def failure_for_status(response: HttpAnswer, detail: str) -> SendFailed:
    """Which answers may be retried: 429, 5xx and 408 may; other 4xx are the message's fault.

    401/403 mean our credentials are wrong, not the message: they are retried (and open the
    circuit, moving traffic to a fallback) rather than failing every code until someone notices.
    """
    status = response.status
    reason = redact(f"HTTP {status} {detail}".strip())
    if status in (401, 403):
        logger.error("SMS provider rejected our credentials (HTTP %s)", status)
        return SendFailed(reason, transient=True)
    if status == 429:
        return SendFailed(reason, transient=True, retry_after=_retry_after(response))
    if status >= 500 or status == 408:
        return SendFailed(reason, transient=True)
    return SendFailed(reason, transient=False)


_FAILURE_TEXT = {
    # The request never left: retrying cannot duplicate it.
    FailureKind.CONNECT: "cannot connect",
    # Sent but unanswered: the provider may have accepted it (see docs/sms-delivery.md).
    FailureKind.TIMEOUT: "no answer in time",
    FailureKind.TRANSPORT: "transport error",
}


async def post(client: OutboundHttp, url: str, **kwargs: Any) -> HttpAnswer:
    """One POST; transport problems become transient failures."""
    try:
        return await client.post(url, **kwargs)
    except OutboundFailure as failure:
        reason = f"{_FAILURE_TEXT[failure.kind]}: {failure.error_type}"
        raise SendFailed(reason, transient=True) from failure


def _json(response: HttpAnswer) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def status_callback_url(settings: Settings, provider: str, message_id: str) -> str | None:
    if not settings.sms_status_callback_base_url:
        return None
    base = settings.sms_status_callback_base_url.rstrip("/")
    path = STATUS_CALLBACK_PATH.format(provider=provider)
    return f"{base}{path}?message_id={quote(message_id)}"


class HttpGateway:
    """POST `{to, text, reference}` as JSON; `reference` (our message id) lets the provider
    de-duplicate a retried request, and is also sent as the `Idempotency-Key` header."""

    name = "http"

    def __init__(
        self,
        client: OutboundHttp,
        url: str,
        *,
        authorization: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.client = client
        self.url = url
        self._authorization = authorization
        self._settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, client: OutboundHttp) -> HttpGateway:
        if not settings.sms_http_url:
            raise ValueError("SMS_HTTP_URL is not set")
        secret = settings.sms_http_authorization
        return cls(
            client,
            settings.sms_http_url,
            authorization=secret.get_secret_value() if secret else None,
            settings=settings,
        )

    async def send(self, sms: OutgoingSms) -> str | None:
        headers = {"Idempotency-Key": sms.message_id}
        if self._authorization:
            headers["Authorization"] = self._authorization
        body: dict[str, Any] = {
            "to": sms.phone_number,
            "text": sms.text,
            "reference": sms.message_id,
        }
        if self._settings is not None:
            callback = status_callback_url(self._settings, self.name, sms.message_id)
            if callback:
                body["status_callback"] = callback
        response = await post(self.client, self.url, json_body=body, headers=headers)
        if not response.is_success:
            raise failure_for_status(response, str(_json(response).get("error") or ""))
        found = _json(response)
        provider_id = found.get("id") or found.get("message_id") or found.get("sid")
        return str(provider_id)[:100] if provider_id else None


class TwilioGateway:
    """Twilio's Messages API: form POST, basic auth, StatusCallback pointing back at us."""

    name = "twilio"

    def __init__(
        self,
        client: OutboundHttp,
        settings: Settings,
    ) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
        self.client = client
        self.settings = settings
        self._sid = settings.twilio_account_sid
        self._auth = (self._sid, settings.twilio_auth_token.get_secret_value())
        self.url = settings.twilio_base_url.rstrip("/") + TWILIO_API_PATH.format(
            sid=quote(self._sid)
        )

    @classmethod
    def from_settings(cls, settings: Settings, client: OutboundHttp) -> TwilioGateway:
        return cls(client, settings)

    async def send(self, sms: OutgoingSms) -> str | None:
        form = {"To": sms.phone_number, "Body": sms.text}
        if self.settings.twilio_messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.twilio_messaging_service_sid
        if self.settings.twilio_from:
            form["From"] = self.settings.twilio_from
        callback = status_callback_url(self.settings, self.name, sms.message_id)
        if callback:
            form["StatusCallback"] = callback
        response = await post(self.client, self.url, form=form, basic_auth=self._auth)
        found = _json(response)
        if not response.is_success:
            detail = " ".join(str(found[k]) for k in ("code", "message") if found.get(k))
            raise failure_for_status(response, detail)
        sid = found.get("sid")
        return str(sid)[:100] if sid else None
