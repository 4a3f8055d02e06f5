"""UTC datetime columns on SQLite (tables.py): the text a datetime is stored as is exactly what
SQLAlchemy's own SQLite conversion writes, so rows written before and after compare and sort as
one; and it round-trips through a real SQLite file."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects import sqlite

from declaration_otp.tables import UtcDateTime, sqlite_utc_text

_DIALECT = sqlite.dialect()
_TYPE: Any = UtcDateTime().dialect_impl(_DIALECT)
# What the column bound before it had a converter of its own: our UTC step, then SQLAlchemy's.
_SQLALCHEMYS = TypeDecorator.bind_processor(_TYPE, _DIALECT)


def _random_datetimes(count: int) -> list[datetime]:
    chance = random.Random(20261203)
    return [
        datetime(
            chance.randint(2, 9998),
            chance.randint(1, 12),
            chance.randint(1, 28),
            chance.randint(0, 23),
            chance.randint(0, 59),
            chance.randint(0, 59),
            chance.choice([0, chance.randint(0, 999_999)]),
            tzinfo=timezone(timedelta(minutes=chance.randint(-900, 900))),
        )
        for _ in range(count)
    ]


def test_sqlite_columns_bind_through_the_fast_converter() -> None:
    assert _TYPE.bind_processor(_DIALECT) is sqlite_utc_text


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 3, 6, 36, 18, 208919, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still six zeros
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=3))),  # stored in UTC
        datetime(2026, 12, 31, 22, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
def test_the_text_is_sqlalchemys(value: datetime) -> None:
    assert sqlite_utc_text(value) == _SQLALCHEMYS(value)


def test_the_text_is_sqlalchemys_for_any_datetime_and_when_repeated() -> None:
    values = _random_datetimes(20_000)
    for value in values + values[:50] + [values[7]] * 3:
        assert sqlite_utc_text(value) == _SQLALCHEMYS(value), value


def test_none_passes_and_a_naive_datetime_is_refused() -> None:
    assert sqlite_utc_text(None) is None
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc_text(datetime(2026, 1, 1))  # naive: the point of the test


def test_stored_values_read_back_equal_and_in_order(tmp_path: Path) -> None:
    metadata = sa.MetaData()
    moments = sa.Table("moments", metadata, sa.Column("at", UtcDateTime(), nullable=False))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    values = _random_datetimes(500)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(moments.insert(), [{"at": value} for value in values])
            # Compared as the text SQLite holds: the order must be time's order.
            stored = connection.execute(sa.select(moments.c.at).order_by(moments.c.at)).all()
    finally:
        engine.dispose()
    assert [row.at for row in stored] == sorted(values)
    assert all(row.at.tzinfo is UTC for row in stored)
