"""The relay's results written together: those that arrive while a write is in flight share the
next unit of work; one that fails is written again alone and fails alone."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert as sa_insert
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from declaration_otp.database import Database
from declaration_otp.prepared import Prepared
from declaration_otp.sms.result_batches import ResultWriter
from tests.conftest import postgres_with_tables


class _TestTables(DeclarativeBase):
    """A metadata of its own: these tables are not the product's (see test_migrations)."""


class Mark(_TestTables):
    __tablename__ = "result_batch_marks"
    id: Mapped[int] = mapped_column(primary_key=True)


_INSERT = Prepared(sa_insert(Mark))


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgres":
        yield from postgres_with_tables(_TestTables.metadata)
        return
    database = Database.from_url(f"sqlite:///{tmp_path / 'results.db'}")
    _TestTables.metadata.create_all(database.engine)
    try:
        yield database
    finally:
        database.close()


_UNITS = itertools.count()


def unit_of(session: Session) -> int:
    """A number for the unit of work `session` belongs to (each unit has a session of its own)."""
    number: int = session.info.setdefault("test_unit", next(_UNITS))
    return number


def mark(mark_id: int) -> Callable[[Session], int]:
    """A result: a row written, and the unit of work it was written in."""

    def work(session: Session) -> int:
        _INSERT.run(session, {"id": mark_id})
        return unit_of(session)

    return work


class Refused(Exception):
    """A result's own error (not the database's), raised after it wrote."""


def refuse_after(unit: Callable[[Session], int]) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        unit(session)
        raise Refused

    return work


def marks(database: Database) -> list[int]:
    return database.run_sync(
        lambda s: list(s.execute(select(Mark.id).order_by(Mark.id)).scalars()), write=False
    )


class HeldWrite:
    """A result whose unit of work waits, once its row is written, until released: whatever is
    written meanwhile arrives while a write is in flight."""

    def __init__(self, mark_id: int) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self._mark = mark(mark_id)

    def __call__(self, session: Session) -> int:
        unit = self._mark(session)
        self.held.set()
        self.release.wait(10)
        return unit

    async def started(self) -> None:
        await asyncio.to_thread(self.held.wait, 10)


def test_results_arriving_during_a_write_share_the_next_unit(database: Database) -> None:
    first = HeldWrite(1)

    async def run() -> list[Any]:
        writer = ResultWriter(database)
        alone = asyncio.ensure_future(writer.write(first))
        await first.started()  # the first is being written, alone
        later = [asyncio.ensure_future(writer.write(mark(n))) for n in range(2, 7)]
        await asyncio.sleep(0.05)
        first.release.set()
        return [await alone, *[await each for each in later]]

    units = asyncio.run(run())

    assert units[0] not in units[1:]
    assert len(set(units[1:])) == 1  # the five that came in meanwhile: one unit
    assert marks(database) == [1, 2, 3, 4, 5, 6]


def test_a_failing_result_is_written_alone_and_fails_alone(database: Database) -> None:
    async def run() -> list[Any]:
        writer = ResultWriter(database)
        units = [mark(1), refuse_after(mark(2)), mark(3)]
        return await asyncio.gather(*(writer.write(u) for u in units), return_exceptions=True)

    first, second, third = asyncio.run(run())

    assert isinstance(second, Refused)
    assert isinstance(first, int) and isinstance(third, int)
    assert first != third  # written again one per unit after the batch failed
    assert marks(database) == [1, 3]  # the refused one's row went with its unit


def test_a_cancelled_caller_still_has_its_result_written(database: Database) -> None:
    slow = HeldWrite(1)

    async def run() -> None:
        writer = ResultWriter(database)
        blocker = asyncio.ensure_future(writer.write(slow))
        await slow.started()
        waiting = asyncio.ensure_future(writer.write(mark(2)))
        await asyncio.sleep(0.01)
        waiting.cancel()  # e.g. the relay stopping
        slow.release.set()
        await blocker
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await writer.write(mark(3))  # written in order: the cancelled one's batch is done

    asyncio.run(run())

    assert marks(database) == [1, 2, 3]
