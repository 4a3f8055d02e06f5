"""Random bytes and UUIDs from the operating system's CSPRNG, read a block at a time.

`os.urandom` (and so `uuid.uuid4`) gives up the GIL around its system call, and getting it back
waits until whichever thread took it gives it up in turn: up to `sys.getswitchinterval()`
(5 ms) when that thread runs Python. A resend drafts its code on the event loop's thread (the
code, the code's and the SMS's ids, the SMS text's nonce, the relay's claim token and attempt id,
and the request id when the client sends none), where such a wait stops every request of the
process: under load with the database threads busy, 0.13–0.29 ms a read on average, up to 37 ms,
about 1.5 ms per request (docs/performance.md, fifteenth round). Reading 4 KiB at a time makes it
one system call per 256 UUIDs.

Rows written on every code are keyed by time-ordered UUIDs (`time_ordered_uuid`, version 7):
their B-trees grow at one end instead of on a random page per row.

The bytes are the kernel's CSPRNG output, each handed out once: as unpredictable as a fresh read,
one-time codes included. Each thread has its own block (no lock, nothing shared between threads),
and a forked child forgets its parent's, so two processes never hand out the same bytes. Bytes are
wiped from the block as they are handed out; what it holds ahead of use is in the process's
memory a little earlier than a fresh read would be, in a process whose memory holds the keys
derived from SECRET_KEY anyway.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_BLOCK_BYTES = 4096


class _Block(threading.local):
    def __init__(self) -> None:
        self.data = bytearray()
        self.used = 0


_block = _Block()


def random_bytes(count: int) -> bytes:
    """`count` bytes from the system's CSPRNG, never handed out before."""
    block = _block
    start = block.used
    if start + count > len(block.data):
        if count > _BLOCK_BYTES:
            return os.urandom(count)
        block.data = bytearray(os.urandom(_BLOCK_BYTES))
        start = 0
    end = start + count
    block.used = end
    drawn = bytes(block.data[start:end])
    # Wiped as handed out: the block never holds a value already in use (a code among them).
    block.data[start:end] = bytes(count)
    return drawn


def random_uuid() -> uuid.UUID:
    """A version 4 UUID, as `uuid.uuid4()` makes it (122 random bits)."""
    return uuid.UUID(bytes=random_bytes(16), version=4)


def time_ordered_uuid() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): the Unix time in milliseconds in its first 48 bits, then 74
    random bits.

    For the keys of rows written on every code (codes, their SMS, send attempts, requests): a
    random key lands on a random page of its B-tree, so each transaction dirties (and SQLite's
    WAL or PostgreSQL's writes) a page per key, and a large table's pages must be read in first;
    keys in time order land on the last page. The time it shows is already public where the id
    is (a code's `code_expired_at`, a request's `inserted_at`); not for secrets or tokens."""
    millis = time.time_ns() // 1_000_000
    value = ((millis & _MILLIS_MASK) << 80) | int.from_bytes(random_bytes(10), "big")
    value = (value & ~_VERSION_AND_VARIANT) | _VERSION_7
    return uuid.UUID(int=value)


_MILLIS_MASK = (1 << 48) - 1
# The version's 4 bits (48–51 from the left) and the variant's 2 (64–65); RFC 9562 layout.
_VERSION_AND_VARIANT = (0xF << 76) | (0x3 << 62)
_VERSION_7 = (0x7 << 76) | (0x2 << 62)


def random_below(limit: int) -> int:
    """A uniform integer in [0, limit): whole bytes drawn, surplus high bits dropped, values past
    the limit drawn again (no modulo bias)."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    bits = limit.bit_length()
    size = (bits + 7) // 8
    while True:
        value = int.from_bytes(random_bytes(size), "big") >> (size * 8 - bits)
        if value < limit:
            return value


def _forget_parent_block() -> None:
    global _block
    _block = _Block()


os.register_at_fork(after_in_child=_forget_parent_block)
