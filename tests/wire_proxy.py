"""A TCP relay in front of PostgreSQL that counts the client's round trips.

The client (libpq) waits for the server only after a message that asks for answers now: Sync,
Flush, or a simple Query. A round trip is counted when the server answers after such a message;
more of them sent before that answer (a Flush right behind a Sync) are the same wait, and the
server's output that nobody waits for is not counted. The relay reads the frontend protocol
(a start-up packet without a type byte, then typed, length-prefixed messages), so connections
through it must not use TLS or GSS encryption (`sslmode=disable&gssencmode=disable`).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

# Frontend messages after which libpq waits for the server.
_WAITS_FOR_ANSWER = frozenset(b"SHQ")


class RoundTripCounter:
    def __init__(self, server_host: str, server_port: int) -> None:
        self._server = (server_host, server_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._round_trips = 0
        self._awaiting = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def round_trips(self) -> int:
        with self._lock:
            return self._round_trips

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._server)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            frontend = _FrontendMessages(on_wait=self._client_waits)
            threading.Thread(
                target=_relay, args=(client, server, frontend.read), daemon=True
            ).start()
            threading.Thread(
                target=_relay, args=(server, client, self._server_answers), daemon=True
            ).start()

    def _client_waits(self) -> None:
        with self._lock:
            self._awaiting = True

    def _server_answers(self, _chunk: bytes) -> None:
        with self._lock:
            if self._awaiting:
                self._round_trips += 1
                self._awaiting = False

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


class _FrontendMessages:
    """Splits what the client sends into messages and calls `on_wait` for each that makes it
    wait for an answer."""

    def __init__(self, on_wait: Callable[[], None]) -> None:
        self._on_wait = on_wait
        self._pending = b""
        self._started = False  # the start-up packet has no type byte

    def read(self, chunk: bytes) -> None:
        self._pending += chunk
        while True:
            header = 5 if self._started else 4
            if len(self._pending) < header:
                return
            length = struct.unpack("!I", self._pending[header - 4 : header])[0]
            size = length + 1 if self._started else length
            if len(self._pending) < size:
                return
            if self._started and self._pending[0] in _WAITS_FOR_ANSWER:
                self._on_wait()
            self._pending, self._started = self._pending[size:], True


def _relay(source: socket.socket, target: socket.socket, seen: Callable[[bytes], None]) -> None:
    """Forward `source` to `target`, each chunk shown to `seen` first: a wait is noted before
    the request that causes the answer goes out."""
    while chunk := _receive(source):
        seen(chunk)
        try:
            target.sendall(chunk)
        except OSError:
            break
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@contextlib.contextmanager
def counting_round_trips(server_host: str, server_port: int) -> Iterator[RoundTripCounter]:
    counter = RoundTripCounter(server_host, server_port)
    try:
        yield counter
    finally:
        counter.close()
