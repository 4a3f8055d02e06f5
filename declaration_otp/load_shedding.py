"""A bound on the API requests one worker process handles at once: past it, an immediate 503.

A request keeps its memory and its place in the database queue until it is answered, even once
its client has given up waiting (the server does not stop a handler when the connection closes).
Offered more than it can answer, a worker without a bound keeps accepting: the queue, the
latency of every request behind it and the process's memory grow for as long as the overload
lasts (the benchmark's create phases at four to eight times capacity took a worker from 118 to
133 MB, and glibc kept it). With `MAX_REQUESTS_IN_FLIGHT`, the excess is refused at once with the
eHealth envelope and `Retry-After`, what `DatabaseUnavailable` answers: the client may retry,
and the requests already accepted finish at the speed the worker has.

Only the API is bounded: `/health/*` and `/metrics` are answered before this (an overloaded
worker must still say so), and the access log still records each refusal.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from declaration_otp import envelope, metrics
from declaration_otp.errors import unavailable


class InFlightLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        # One event loop per process: no lock is needed around the count.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            metrics.REQUESTS_SHED.inc()
            await _refusal(scope)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _refusal(scope: Scope) -> Response:
    error = unavailable()
    body = envelope.error_body(scope, error.status, error.error_type, error.message)
    return Response(
        envelope.dumps(body),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )
