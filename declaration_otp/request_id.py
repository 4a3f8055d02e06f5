"""X-Request-ID: taken from the client (or made), kept in the scope, echoed on every response,
and bound to every log line written while the request is handled."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from declaration_otp.envelope import REQUEST_ID_STATE_KEY, clean_request_id
from declaration_otp.logging_setup import request_id_var

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(Headers(scope=scope).get(HEADER))
        # Per-request copy: the lifespan state dict is shared by all requests.
        scope["state"] = {**(scope.get("state") or {}), REQUEST_ID_STATE_KEY: request_id}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
