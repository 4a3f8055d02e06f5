"""The one client for outbound HTTP calls: SMS providers and token introspection.

aiohttp, one connection pool per process, explicit connect and read timeouts, no redirects and
no cookie jar (a provider's cookie must not ride along with the next call). It replaced httpx
here for cost: sending one SMS to a local provider took about 1 ms of CPU through httpx's async
stack against about 0.1 ms through aiohttp (docs/performance.md), and the relay makes one such
call per code.

Callers get an `HttpAnswer` (status, headers, body) or an `OutboundFailure` saying whether the
request may have reached the server: a connection that could not be opened never sent anything,
a timeout after sending may have.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp


class FailureKind(StrEnum):
    CONNECT = "connect"  # nothing was sent: retrying cannot duplicate the request
    TIMEOUT = "timeout"  # sent, no answer in time: the server may have acted on it
    TRANSPORT = "transport"  # the connection broke or the answer was malformed


class OutboundFailure(Exception):
    def __init__(self, kind: FailureKind, error: BaseException) -> None:
        # The error's type only: aiohttp's texts name the URL, which may carry a key.
        super().__init__(f"{kind.value}: {type(error).__name__}")
        self.kind = kind
        self.error_type = type(error).__name__


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)


def _basic_authorization(user: str, password: str) -> str:
    """RFC 7617, UTF-8 credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class OutboundHttp:
    def __init__(
        self,
        *,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_seconds, sock_read=read_timeout_seconds
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop that will use it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )
        return self._session

    async def post(
        self,
        url: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> HttpAnswer:
        sent_headers = dict(headers or {})
        if basic_auth:
            sent_headers["Authorization"] = _basic_authorization(*basic_auth)
        try:
            async with self._client().post(
                url,
                json=json_body,
                data=form,
                headers=sent_headers,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                return HttpAnswer(response.status, response.headers, content)
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as error:
            raise OutboundFailure(FailureKind.CONNECT, error) from error
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            raise OutboundFailure(FailureKind.TIMEOUT, error) from error
        except aiohttp.ClientError as error:
            raise OutboundFailure(FailureKind.TRANSPORT, error) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
