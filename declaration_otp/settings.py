"""All configuration, read once from the environment at start-up and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "demo-secret-key-change-me-in-production"  # noqa: S105 - flagged at start-up


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///declaration_otp.db",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://... "
        "in production.",
    )
    database_pool_size: int = Field(default=8, ge=1, le=200)
    database_busy_timeout_ms: int = Field(default=5000, ge=0)
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

    sms_gateway: Literal["console", "file"] = "console"
    sms_file: Path = Path("sms_outbox.jsonl")
    sms_text: str = "Код авторизації дій в системі eHealth: {code}"
    sms_max_attempts: int = Field(default=8, ge=1, le=100)
    relay_enabled: bool = True
    relay_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    relay_claim_seconds: int = Field(default=60, ge=5)
    relay_batch_size: int = Field(default=50, ge=1, le=1000)

    http_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    http_read_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    http_max_connections: int = Field(default=100, ge=1, le=10000)

    declaration_term_years: int = Field(default=20, ge=1, le=100)
    validate_responses: bool = False
    log_level: str = "INFO"

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

    @property
    def send_limits(self) -> tuple[SendLimit, ...]:
        return parse_send_limits(self.otp_phone_send_limits)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_demo_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEMO_SECRET_KEY
