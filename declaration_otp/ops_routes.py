"""`/metrics`, `/health/live` and `/health/ready`: for the platform, not part of the public API.

Served by a plain ASGI middleware ahead of connexion's routing, so they are not in the spec, the
API reference or Swagger UI, need no API token and never touch the request path of the API.

- `/health/live`: the process answers (no I/O). 200.
- `/health/ready`: the database answers, its schema is at the latest migration and (with
  `RELAY_ENABLED`) the in-process SMS relay's loop has run recently. 200 or 503, JSON.
- `/metrics`: Prometheus text format; `Authorization: Bearer <METRICS_TOKEN>` when one is set.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from declaration_otp import metrics
from declaration_otp.runtime import Services, services_of
from declaration_otp.schema_version import HEAD_REVISION, database_revision
from declaration_otp.settings import Settings
from declaration_otp.sms.outbox import SmsStatus
from declaration_otp.tables import SmsMessage

logger = logging.getLogger(__name__)

METRICS_PATH: Final = "/metrics"
LIVE_PATH: Final = "/health/live"
READY_PATH: Final = "/health/ready"
# Relay loop iterations the heartbeat may miss before the relay counts as stuck.
RELAY_MISSED_POLLS: Final = 10


def relay_stale_after_seconds(settings: Settings) -> float:
    """How old the relay's heartbeat may be: a loop iteration can legitimately take a whole
    batch of sends (each bounded by the send deadline) plus recording the results."""
    return max(
        RELAY_MISSED_POLLS * settings.relay_poll_seconds,
        2 * settings.sms_send_deadline_seconds + settings.relay_poll_seconds,
    )


@functools.lru_cache(maxsize=1)
def _database_revision(session: Session) -> str | None:
    return database_revision(session.connection())


def _outbox_stats(session: Session, now: datetime) -> metrics.OutboxStats:
    due, oldest = session.execute(
        select(func.count(), func.min(col(SmsMessage.next_attempt_at))).where(
            col(SmsMessage.status) == SmsStatus.QUEUED.value,
            col(SmsMessage.next_attempt_at) <= now,
        )
    ).one()
    if oldest is None:
        return metrics.OutboxStats(due=0, oldest_due_age_seconds=0.0)
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return metrics.OutboxStats(
        due=int(due), oldest_due_age_seconds=max(0.0, (now - oldest).total_seconds())
    )


async def _live(services: Services, scope: Scope) -> Response:
    return JSONResponse({"status": "ok"})


async def _ready(services: Services, scope: Scope) -> Response:
    checks: dict[str, dict[str, Any]] = {}
    try:
        revision = await services.database.read(_database_revision)
        checks["database"] = {"ok": True}
    except Exception as error:
        logger.warning("readiness: database check failed: %s", type(error).__name__)
        revision = None
        checks["database"] = {"ok": False, "error": type(error).__name__}
    checks["migrations"] = {
        "ok": revision == HEAD_REVISION,
        "revision": revision,
        "head": HEAD_REVISION,
    }
    settings = services.settings
    if settings.relay_enabled:
        beat = services.relay_heartbeat
        age = None if beat is None else round(time.monotonic() - beat, 3)
        alive = age is not None and age <= relay_stale_after_seconds(settings)
        checks["relay"] = {"ok": alive, "heartbeat_age_seconds": age}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _authorized(settings: Settings, scope: Scope) -> bool:
    token = settings.metrics_token
    if token is None:
        return True
    headers = dict(scope.get("headers") or [])
    presented = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, value = presented.partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)


async def _metrics(services: Services, scope: Scope) -> Response:
    if not _authorized(services.settings, scope):
        return JSONResponse(
            {"error": "a valid METRICS_TOKEN bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    now = services.clock()
    outbox: metrics.OutboxStats | None
    try:
        outbox = await services.database.read(lambda session: _outbox_stats(session, now))
    except Exception as error:
        logger.warning("metrics: outbox not readable: %s", type(error).__name__)
        outbox = None
    body = await asyncio.to_thread(metrics.render, outbox)
    return Response(body, media_type=metrics.CONTENT_TYPE)


Route = Callable[[Services, Scope], Awaitable[Response]]
ROUTES: Final[dict[str, Route]] = {LIVE_PATH: _live, READY_PATH: _ready, METRICS_PATH: _metrics}


class OpsRoutesMiddleware:
    """Answers the ops paths itself; everything else goes on to the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response: Response = JSONResponse(
                {"error": "method not allowed"}, status_code=405, headers={"Allow": "GET, HEAD"}
            )
        else:
            response = await route(services_of(scope), scope)
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)
