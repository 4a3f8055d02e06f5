"""`scripts/bench`'s fake SMS provider: takes every SMS, remembers the last code sent to each
number, and answers as the `http` gateway expects.

    POST /sms     {"to": ..., "text": ...}  →  200 {"id": "fake-<n>"}   (400 for a body that is
                                                                          not a JSON object)
    GET  /codes   →  200 {"count": <SMS taken>, "codes": {<number>: <its last code>}}

It stands in for a provider that in production runs elsewhere, yet it shares the two cores with
the server under test, so it should cost as little of them as it can: requests are parsed by
httptools (uvicorn's parser) on uvloop, kept alive, and answered with bytes written straight to
the transport. Until the twenty-first round it was an aiohttp application on asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any, cast

import httptools

CODE_RE = re.compile(r"\d{4,8}")
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}


class Inbox:
    """What the provider has taken: how many SMS, and the last code per number."""

    def __init__(self) -> None:
        self.count = 0
        self.codes: dict[str, str] = {}

    def take(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            sms = json.loads(body)
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        if not isinstance(sms, dict):
            return 400, {"error": "the body is not a JSON object"}
        found = CODE_RE.findall(str(sms.get("text", "")))
        if found:
            self.codes[str(sms.get("to"))] = found[-1]
        self.count += 1
        return 200, {"id": f"fake-{self.count}"}

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "codes": self.codes}


class _Connection(asyncio.Protocol):
    """One client connection, kept alive; requests answered in the order they came."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._answer(400, {"error": "malformed HTTP"}, keep_alive=False)

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url, self.body = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method, path = self.parser.get_method(), self.url.split(b"?", 1)[0]
        if method == b"POST" and path == b"/sms":
            status, answer = self.inbox.take(b"".join(self.body))
        elif method == b"GET" and path == b"/codes":
            status, answer = 200, self.inbox.state()
        else:
            status, answer = 404, {"error": "no such endpoint"}
        self._answer(status, answer, keep_alive=self.parser.should_keep_alive())

    def _answer(self, status: int, answer: dict[str, Any], *, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        payload = json.dumps(answer).encode()
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (
                status,
                _REASONS[status],
                len(payload),
                b"" if keep_alive else b"Connection: close\r\n",
            )
        )
        self.transport.write(head + payload)
        if not keep_alive:
            self.transport.close()


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:`port` until cancelled."""
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(inbox), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main(port: int) -> None:
    try:
        import uvloop
    except ImportError:  # asyncio's own loop: slower, same answers
        asyncio.run(serve(port))
    else:
        uvloop.run(serve(port))


if __name__ == "__main__":
    main(int(sys.argv[1]))
