"""One access log line and the request metrics per API request.

`AccessLogMiddleware` sits outside connexion's error handling (so it sees every status, errors
included) but inside `RequestIdMiddleware` (so the line carries the request id).
`OperationTagMiddleware` sits after connexion's routing: it notes the matched operationId in the
request's state, where the outer middleware reads it once the response is done. Metrics are
labelled by operation, never by raw path.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from connexion.middleware.abstract import ROUTING_CONTEXT
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from declaration_otp import metrics

logger = logging.getLogger("declaration_otp.access")

OPERATION_STATE_KEY: Final = "operation_id"


class OperationTagMiddleware:
    """Records the routed operationId where `AccessLogMiddleware` finds it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            routing = (scope.get("extensions") or {}).get(ROUTING_CONTEXT) or {}
            state = scope.get("state")
            if isinstance(state, dict):
                state[OPERATION_STATE_KEY] = routing.get("operation_id")
        await self.app(scope, receive, send)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Per request: the inner middleware writes the operation here (the lifespan's state
        # dict is shared by all requests, so never write into that one).
        state: dict[str, Any] = {**(scope.get("state") or {}), OPERATION_STATE_KEY: None}
        scope["state"] = state
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            operation = metrics.operation_label(state.get(OPERATION_STATE_KEY))
            method = scope["method"]
            metrics.observe_request(operation, method, status, seconds)
            duration_ms = round(seconds * 1000, 2)
            # The raw path may hold a phone number (OTP verification API): the redaction filter
            # masks it in every handler's output.
            logger.info(
                "%s %s %d %.2f ms %s",
                method,
                scope["path"],
                status,
                duration_ms,
                operation,
                extra={
                    "http_method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "operation": operation,
                },
            )
