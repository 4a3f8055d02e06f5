"""randomness: the system's random bytes handed out from per-thread blocks, never twice."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter

import pytest

from declaration_otp import randomness
from declaration_otp.randomness import (
    random_below,
    random_bytes,
    random_uuid,
    time_ordered_uuid,
)


def test_bytes_are_handed_out_once() -> None:
    drawn = [random_bytes(16) for _ in range(1000)]  # several blocks
    assert all(len(chunk) == 16 for chunk in drawn)
    assert len(set(drawn)) == len(drawn)
    assert len(random_bytes(12)) == 12
    assert len(random_bytes(10_000)) == 10_000  # larger than a block: drawn directly


def test_bytes_handed_out_are_wiped_from_the_block() -> None:
    random_bytes(4096)  # uses the block up: the next call reads a fresh one
    first = random_bytes(16)
    second = random_bytes(16)
    block = randomness._block
    assert block.used == 32
    assert block.data[:32] == bytes(32)
    assert first not in block.data and second not in block.data
    assert block.data[32:] != bytes(len(block.data) - 32)


def test_uuids_are_version_4() -> None:
    made = [random_uuid() for _ in range(300)]
    assert len(set(made)) == len(made)
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)


def test_time_ordered_uuids_are_version_7_and_follow_the_clock() -> None:
    before = time.time_ns() // 1_000_000
    made = [time_ordered_uuid() for _ in range(300)]
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in made)
    stamps = [u.int >> 80 for u in made]  # RFC 9562: the first 48 bits, Unix milliseconds
    assert before <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= after
    # Within one millisecond the rest is random: 74 bits, not a counter.
    assert len({u.int & ((1 << 62) - 1) for u in made}) == len(made)
    time.sleep(0.002)
    assert time_ordered_uuid() > made[-1]  # a later key sorts after, as text too
    assert str(time_ordered_uuid()) > str(made[-1])


def test_below_covers_the_range_and_nothing_else() -> None:
    counts = Counter(random_below(7) for _ in range(7000))
    assert set(counts) == set(range(7))
    # Each value about 1,000 times; a modulo bias on a byte would not show at 7, a wrong shift
    # or a missing rejection would (values past 6 or some never drawn).
    assert min(counts.values()) > 800
    assert {random_below(1) for _ in range(50)} == {0}
    big = 9 * 10**5
    assert all(0 <= random_below(big) < big for _ in range(2000))
    with pytest.raises(ValueError):
        random_below(0)


def test_threads_draw_from_blocks_of_their_own() -> None:
    drawn: list[bytes] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [random_bytes(8) for _ in range(600)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == len(drawn) == 2400


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_does_not_hand_out_its_parents_bytes() -> None:
    random_bytes(16)  # the parent holds a block with bytes left in it
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next bytes and leave at once
        try:
            os.write(writer, random_bytes(16))
        finally:
            os._exit(0)
    os.close(writer)
    child_bytes = os.read(reader, 16)
    os.close(reader)
    os.waitpid(pid, 0)
    assert len(child_bytes) == 16
    # Without forgetting the inherited block the child's next bytes are exactly these.
    assert child_bytes != random_bytes(16)
