"""What a running app holds: built once in the lifespan, reached by handlers through the scope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from declaration_otp.database import Database
from declaration_otp.outbound import OutboundHttp
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.settings import Settings
from declaration_otp.ttl_cache import TtlCache

if TYPE_CHECKING:
    from declaration_otp.auth.caller import TokenInfo
    from declaration_otp.sms.relay import Relay

SERVICES_STATE_KEY = "services"
AUTH_CACHE_MAX_ENTRIES = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    settings: Settings
    database: Database
    secrets: SecretBox
    # The one client for every outbound call (SMS providers, token introspection).
    http: OutboundHttp = field(default_factory=OutboundHttp)
    clock: Callable[[], datetime] = utc_now
    # Set after a commit that queued SMS so the in-process relay sends without waiting a poll.
    sms_queued: asyncio.Event = field(default_factory=asyncio.Event)
    # The in-process relay, while it runs: it sends new codes' SMS at once (sms/dispatch.py).
    relay: Relay | None = None
    # time.monotonic() of the in-process relay loop's latest round (`/health/ready` reads it).
    relay_heartbeat: float | None = None
    # Introspection answers by token HMAC (AUTH_MODE=introspection); None = "not active".
    auth_cache: TtlCache[str, TokenInfo | None] = field(
        default_factory=lambda: TtlCache(max_entries=AUTH_CACHE_MAX_ENTRIES)
    )

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database.from_url(
            settings.database_url,
            pool_size=settings.database_pool_size,
            busy_timeout_ms=settings.database_busy_timeout_ms,
            connect_timeout_seconds=settings.database_connect_timeout_seconds,
            statement_timeout_ms=settings.database_statement_timeout_ms,
        )
        return cls(
            settings=settings,
            database=database,
            secrets=SecretBox(settings.secret_key.get_secret_value()),
            http=make_http_client(settings),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        await asyncio.to_thread(self.database.close)


def make_http_client(settings: Settings) -> OutboundHttp:
    return OutboundHttp(
        connect_timeout_seconds=settings.http_connect_timeout_seconds,
        read_timeout_seconds=settings.http_read_timeout_seconds,
        max_connections=settings.http_max_connections,
    )


def services_of(scope: dict[str, Any] | Any) -> Services:
    services = (scope.get("state") or {}).get(SERVICES_STATE_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("app services are missing: was the app started with its lifespan?")
    return services
