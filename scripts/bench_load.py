"""`scripts/bench`'s load generator: requests at a constant arrival rate over kept-alive HTTP/1.1.

Open model: request *i* is due at `start + i / rate` whether or not earlier ones have answered,
and its latency counts from that due time, so a wait for a free connection or for the server is
the request's own (no coordinated omission). Each request goes out on one of at most
`connections` keep-alive connections, opened as they are needed and reused while the server
keeps them; a request due while every connection is busy waits for the first one free, inside its
latency. A request not answered within `timeout` seconds of being due out counts as
`TimeoutError` (its connection is dropped: an answer may still be on its way).

Until the twentieth round this was aiohttp's client session. Its per-request work (a request and a
response object, header multidicts, a timer context and a task per request) cost the generator
0.3–0.6 ms of CPU per request on two cores that the server under test shares with it; here a
request is bytes built before the start, written to a transport, and a response is parsed by
httptools (uvicorn's parser) into a status and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from typing import Any, cast
from urllib.parse import urlsplit

import httptools


class _Request:
    __slots__ = ("connection", "done", "due", "payload", "timer")

    def __init__(self, due: float, payload: bytes) -> None:
        self.due = due
        self.payload = payload
        self.timer: asyncio.TimerHandle | None = None
        self.connection: _Connection | None = None
        self.done = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer reduced to a status."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.request: _Request | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.drop(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self, exc)

    # httptools' callback: the whole response has been read (its body is not kept).
    def on_message_complete(self) -> None:
        self.pool.answered(self, self.parser.get_status_code(), self.parser.should_keep_alive())

    def send(self, request: _Request) -> None:
        assert self.transport is not None
        self.request = request
        request.connection = self
        self.transport.write(request.payload)

    def drop(self, error: Exception | None) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.pool.lost(self, error)


class _Pool:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        limit: int,
        timeout: float,
        samples: list[tuple[float, float, int]],
        errors: dict[str, int],
        total: int,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port, self.limit, self.timeout = host, port, limit, timeout
        self.samples, self.errors = samples, errors
        self.idle: list[_Connection] = []
        self.opened = 0  # connections open or being opened
        self.waiting: deque[_Request] = deque()
        self.remaining = total
        self.finished = self.loop.create_future()
        self._connecting: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak ones

    def submit(self, request: _Request) -> None:
        request.timer = self.loop.call_later(self.timeout, self._expire, request)
        if self.idle:
            self.idle.pop().send(request)
            return
        self.waiting.append(request)
        if self.opened < self.limit:
            self._open()

    def answered(self, connection: _Connection, status: int, keep_alive: bool) -> None:
        request, connection.request = connection.request, None
        if request is not None and not request.done:
            self._finish(request, status, None)
        if keep_alive:
            self._reuse(connection)
        else:
            connection.drop(None)

    def lost(self, connection: _Connection, error: Exception | None) -> None:
        if connection.closed:
            return
        connection.closed = True
        self.opened -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        request, connection.request = connection.request, None
        if request is not None and not request.done:
            self._finish(request, 0, type(error).__name__ if error else "ServerDisconnectedError")
        if self.waiting and self.opened < self.limit:
            self._open()

    def _open(self) -> None:
        self.opened += 1
        task = self.loop.create_task(self._connect())
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self) -> None:
        try:
            _, connection = await self.loop.create_connection(
                lambda: _Connection(self), self.host, self.port
            )
        except OSError as error:
            self.opened -= 1
            # The request it was opened for fails, as a client's connect error fails its request.
            request = self._next_waiting()
            if request is not None:
                self._finish(request, 0, type(error).__name__)
            if self.waiting and self.opened < self.limit:
                self._open()  # each request waiting tries a connection of its own
            return
        self._reuse(connection)

    def _reuse(self, connection: _Connection) -> None:
        request = self._next_waiting()
        if request is None:
            self.idle.append(connection)
        else:
            connection.send(request)

    def _next_waiting(self) -> _Request | None:
        """The first request still waiting for a connection (those timed out meanwhile skipped)."""
        while self.waiting:
            request = self.waiting.popleft()
            if not request.done:
                return request
        return None

    def _expire(self, request: _Request) -> None:
        if request.done:
            return
        self._finish(request, 0, "TimeoutError")
        connection = request.connection
        if connection is not None and connection.request is request:
            connection.request = None
            connection.drop(None)  # its answer may still come: the connection cannot be reused

    def _finish(self, request: _Request, status: int, error: str | None) -> None:
        request.done = True
        if request.timer is not None:
            request.timer.cancel()
        self.samples.append((request.due, time.monotonic() - request.due, status))
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1
        self.remaining -= 1
        if self.remaining == 0 and not self.finished.done():
            self.finished.set_result(None)


def request_bytes(host: str, token: str, method: str, path: str, body: Any) -> bytes:
    content = b"" if body is None else json.dumps(body).encode()
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        "Accept: */*",
        "User-Agent: declaration-otp-bench",
    ]
    if content or method not in ("GET", "HEAD"):
        head.append(f"Content-Length: {len(content)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + content


async def generate(job: dict[str, Any]) -> dict[str, Any]:
    """Offer `job["requests"]` ([method, path, body]) at `job["rate"]` a second from
    `job["start_at"]` (this machine's monotonic clock) to `job["base"]`."""
    base = urlsplit(job["base"])
    host, port = base.hostname or "127.0.0.1", base.port or 80
    authority = f"{host}:{port}"
    payloads = [
        request_bytes(authority, job["token"], method, path, body)
        for method, path, body in job["requests"]
    ]
    samples: list[tuple[float, float, int]] = []  # due time, latency s, status (0 = error)
    # How late each request left after its due time: the generator's own delay, which the
    # latencies include, told apart from the server's.
    send_lags: list[tuple[float, float]] = []
    errors: dict[str, int] = {}
    total = len(payloads)
    pool = _Pool(
        host=host,
        port=port,
        limit=job["connections"],
        timeout=job["timeout"],
        samples=samples,
        errors=errors,
        total=total,
    )
    rate, start = job["rate"], job["start_at"]
    index = 0
    while index < total:
        now = time.monotonic()
        while index < total and start + index / rate <= now:
            due = start + index / rate
            send_lags.append((due, now - due))
            pool.submit(_Request(due, payloads[index]))
            index += 1
        if index < total:
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
    if total:
        await pool.finished
    for connection in pool.idle:
        connection.drop(None)
    usage = os.times()
    return {
        "samples": samples,
        "send_lags": send_lags,
        "errors": errors,
        "cpu_s": usage.user + usage.system,
    }
