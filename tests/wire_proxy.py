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
from collections.abc import Iterator

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
            threading.Thread(
                target=self._client_to_server, args=(client, server), daemon=True
            ).start()
            threading.Thread(
                target=self._server_to_client, args=(server, client), daemon=True
            ).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        pending = b""
        started = False  # the start-up packet has no type byte
        while chunk := _receive(client):
            pending += chunk
            while True:
                header = 4 if not started else 5
                if len(pending) < header:
                    break
                length = struct.unpack("!I", pending[header - 4 : header])[0]
                size = length if not started else length + 1
                if len(pending) < size:
                    break
                if started and pending[0] in _WAITS_FOR_ANSWER:
                    with self._lock:
                        self._awaiting = True
                pending, started = pending[size:], True
            # Forwarded once read: the answer cannot arrive before the wait is noted.
            try:
                server.sendall(chunk)
            except OSError:
                break
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        while chunk := _receive(server):
            with self._lock:
                if self._awaiting:
                    self._round_trips += 1
                    self._awaiting = False
            try:
                client.sendall(chunk)
            except OSError:
                break
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


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
