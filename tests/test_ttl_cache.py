"""The bounded cache that holds introspection answers: expiry and the size bound."""

from __future__ import annotations

import datetime as dt

from declaration_otp.ttl_cache import TtlCache

T0 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_entries_expire_and_none_is_a_cached_value() -> None:
    cache: TtlCache[str, str | None] = TtlCache(max_entries=10)
    cache.put("a", "info", until=_at(10), now=_at(0))
    cache.put("b", None, until=_at(5), now=_at(0))
    hit = cache.get("b", _at(4))
    assert hit is not None and hit.value is None
    assert cache.get("b", _at(5)) is None
    entry = cache.get("a", _at(9.9))
    assert entry is not None and entry.value == "info"
    assert cache.get("a", _at(10)) is None
    assert len(cache) == 0


def test_an_already_expired_entry_is_not_stored() -> None:
    cache: TtlCache[str, int] = TtlCache(max_entries=10)
    cache.put("a", 1, until=_at(0), now=_at(0))
    assert cache.get("a", _at(0)) is None and len(cache) == 0


def test_size_is_bounded_least_recently_used_first() -> None:
    cache: TtlCache[int, int] = TtlCache(max_entries=3)
    for key in range(3):
        cache.put(key, key, until=_at(60), now=_at(0))
    assert cache.get(0, _at(1)) is not None  # 0 used again: 1 is now the oldest
    cache.put(3, 3, until=_at(60), now=_at(1))
    assert len(cache) == 3
    assert cache.get(1, _at(2)) is None
    assert all(cache.get(key, _at(2)) is not None for key in (0, 2, 3))
    for key in range(100, 10_100):
        cache.put(key, key, until=_at(60), now=_at(2))
    assert len(cache) == 3
