"""All configuration, read once from the environment at start-up and passed down."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "demo-secret-key-change-me-in-production"  # noqa: S105 - flagged at start-up

GatewayName = Literal["console", "file", "http", "twilio"]
# Settings each SMS gateway cannot work without.
_GATEWAY_NEEDS: dict[str, tuple[str, ...]] = {
    "console": (),
    "file": (),
    "http": ("sms_http_url",),
    "twilio": ("twilio_account_sid", "twilio_auth_token"),
}


@dataclass(frozen=True, slots=True)
class SendLimit:
    """At most `count` codes to one phone within `window_seconds`."""

    count: int
    window_seconds: int


def parse_send_limits(text: str) -> tuple[SendLimit, ...]:
    """Parse `5/600,10/86400` into limits; an empty string means no window limits."""
    limits: list[SendLimit] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        count_text, sep, window_text = part.partition("/")
        if not sep:
            raise ValueError(f"send limit {part!r} must look like COUNT/SECONDS")
        count, window = int(count_text), int(window_text)
        if count < 1 or window < 1:
            raise ValueError(f"send limit {part!r} needs a positive count and window")
        limits.append(SendLimit(count=count, window_seconds=window))
    return tuple(limits)


@functools.lru_cache(maxsize=8)
def _parsed_send_limits(text: str) -> tuple[SendLimit, ...]:
    return parse_send_limits(text)


@functools.lru_cache(maxsize=8)
def _parsed_prefixes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///declaration_otp.db",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://... "
        "in production.",
    )
    database_pool_size: int = Field(default=8, ge=1, le=200)
    # Per worker process; past it the API answers 503 at once (see load_shedding.py).
    max_requests_in_flight: int = Field(default=256, ge=1, le=100_000)
    database_busy_timeout_ms: int = Field(default=5000, ge=0)
    database_connect_timeout_seconds: int = Field(default=3, ge=1, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=0)
    secret_key: SecretStr = Field(
        default=SecretStr(DEMO_SECRET_KEY),
        description="Key of the HMACs that protect codes and tokens at rest and of the SMS "
        "body encryption. Set a long random value in production.",
    )

    otp_code_length: int = Field(default=6, ge=4, le=8)
    otp_ttl_seconds: int = Field(default=300, ge=30, le=86400)
    otp_max_attempts: int = Field(default=3, ge=1, le=20)
    otp_resend_cooldown_seconds: int = Field(default=60, ge=0, le=86400)
    otp_phone_send_limits: str = Field(default="5/600,10/86400")

    # SMS delivery: see docs/sms-delivery.md and the README's configuration table.
    sms_gateway: GatewayName = "console"
    sms_fallback_gateway: GatewayName | None = None
    sms_file: Path = Path("sms_outbox.jsonl")
    sms_text: str = "Код авторизації дій в системі eHealth: {code}"
    sms_max_attempts: int = Field(default=8, ge=1, le=100)
    sms_allowed_prefixes: str = Field(default="+380", pattern=r"^\s*(\+[0-9]*\s*(,\s*|$))+$")
    sms_http_url: str | None = Field(default=None, pattern=r"^https?://")
    sms_http_authorization: SecretStr | None = None
    twilio_base_url: str = Field(default="https://api.twilio.com", pattern=r"^https?://")
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    sms_status_callback_base_url: str | None = Field(default=None, pattern=r"^https?://")
    sms_status_callback_secret: SecretStr | None = None
    sms_circuit_failures: int = Field(default=5, ge=1, le=1000)
    sms_circuit_cooloff_seconds: float = Field(default=30.0, gt=0, le=3600)
    relay_enabled: bool = True
    relay_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    relay_claim_seconds: int = Field(default=60, ge=1)
    relay_batch_size: int = Field(default=50, ge=1, le=1000)
    relay_backoff_base_seconds: float = Field(default=1.0, gt=0, le=600)
    relay_backoff_cap_seconds: float = Field(default=60.0, gt=0, le=3600)
    relay_shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)

    # Authentication: see declaration_otp/auth/ and the README's "Authentication" section.
    auth_mode: Literal["local", "introspection", "gateway"] = "local"
    auth_introspection_url: str | None = Field(default=None, pattern=r"^https?://")
    auth_introspection_client_id: str | None = None
    auth_introspection_client_secret: SecretStr | None = None
    auth_cache_seconds: int = Field(default=60, ge=0, le=3600)
    auth_negative_cache_seconds: int = Field(default=5, ge=0, le=300)
    auth_gateway_secret: SecretStr | None = None
    auth_gateway_secret_header: str = Field(
        default="x-gateway-secret", pattern=r"^[A-Za-z0-9-]{1,64}$"
    )

    http_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    http_read_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    http_max_connections: int = Field(default=100, ge=1, le=10000)

    declaration_term_years: int = Field(default=20, ge=1, le=100)
    # Housekeeping and retention: see declaration_otp/housekeeping.py and the README's "Retention".
    housekeeping_enabled: bool = True
    housekeeping_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    housekeeping_batch_size: int = Field(default=500, ge=1, le=100_000)
    declaration_request_ttl_days: int = Field(default=7, ge=1, le=365)
    retention_verifications_days: int = Field(default=30, ge=1, le=3650)
    retention_sms_days: int = Field(default=30, ge=1, le=3650)
    retention_audit_days: int = Field(default=365, ge=1, le=36500)
    validate_responses: bool = False
    log_level: str = "INFO"
    # Operations: see declaration_otp/logging_setup.py, metrics.py, ops_routes.py and the README.
    log_format: Literal["text", "json"] = "text"
    log_sql: bool = False
    metrics_token: SecretStr | None = None

    @field_validator("otp_phone_send_limits")
    @classmethod
    def _check_limits(cls, value: str) -> str:
        parse_send_limits(value)
        return value

    @field_validator("sms_text")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if "{code}" not in value:
            raise ValueError("SMS_TEXT must contain the {code} placeholder")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        if self.auth_mode == "introspection":
            missing = [
                name.upper()
                for name in (
                    "auth_introspection_url",
                    "auth_introspection_client_id",
                    "auth_introspection_client_secret",
                )
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"AUTH_MODE=introspection needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _check_sms(self) -> Settings:
        problems = []
        for name in filter(None, (self.sms_gateway, self.sms_fallback_gateway)):
            problems += [var.upper() for var in _GATEWAY_NEEDS[name] if not getattr(self, var)]
        uses_twilio = "twilio" in (self.sms_gateway, self.sms_fallback_gateway)
        if uses_twilio and not (self.twilio_from or self.twilio_messaging_service_sid):
            problems.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        if problems:
            raise ValueError(f"the SMS gateway needs {', '.join(problems)}")
        if self.sms_fallback_gateway == self.sms_gateway:
            raise ValueError("SMS_FALLBACK_GATEWAY must differ from SMS_GATEWAY")
        if self.relay_claim_seconds < 2 * self.sms_send_deadline_seconds:
            raise ValueError(
                "RELAY_CLAIM_SECONDS must be at least twice the longest send "
                f"({self.sms_send_deadline_seconds:g} s from the HTTP timeouts), or a slow send "
                "could be claimed again by another relay"
            )
        return self

    @model_validator(mode="after")
    def _check_retention(self) -> Settings:
        # Send limits are counted from stored verifications: purging one still inside a window
        # would let a phone receive more codes than the limits allow.
        needed = max(
            self.otp_ttl_seconds,
            self.otp_resend_cooldown_seconds,
            *(limit.window_seconds for limit in self.send_limits),
        )
        if self.retention_verifications_days * 86400 < needed:
            raise ValueError(
                f"RETENTION_VERIFICATIONS_DAYS must cover the longest send-limit window, code "
                f"lifetime and cooldown ({needed} s, OTP_PHONE_SEND_LIMITS): at least "
                f"{-(-needed // 86400)} day(s)"
            )
        return self

    @property
    def sms_send_deadline_seconds(self) -> float:
        """The longest one gateway call may take: connect + read timeouts and a margin."""
        return self.http_connect_timeout_seconds + self.http_read_timeout_seconds + 1.0

    # Read for every code issued and every SMS sent: parsed once per text, not on every read
    # (a cache keyed by the text stays right for a copy made with other values).
    @property
    def allowed_sms_prefixes(self) -> tuple[str, ...]:
        return _parsed_prefixes(self.sms_allowed_prefixes)

    @property
    def send_limits(self) -> tuple[SendLimit, ...]:
        return _parsed_send_limits(self.otp_phone_send_limits)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_demo_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEMO_SECRET_KEY
