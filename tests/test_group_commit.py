"""SQLite group commit: units queued together share one transaction, each in a SAVEPOINT of its
own. A unit that fails is undone alone and hears its own error; a failed COMMIT fails them all
and writes nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy import insert as sa_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from declaration_otp.database import Database
from declaration_otp.prepared import Prepared


class _TestTables(DeclarativeBase):
    """A metadata of its own: these tables are not the product's (see test_migrations)."""


class Note(_TestTables):
    __tablename__ = "group_commit_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(unique=True)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'group.db'}")
    _TestTables.metadata.create_all(database.engine)
    database.run_sync(
        lambda s: s.execute(
            text(
                "CREATE TABLE group_commit_children (id INTEGER PRIMARY KEY, note_id INTEGER "
                "REFERENCES group_commit_notes (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        ),
        write=True,
    )
    try:
        yield database
    finally:
        database.close()


def insert(note_id: int, body: str) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        session.execute(
            text("INSERT INTO group_commit_notes (id, body) VALUES (:id, :body)"),
            {"id": note_id, "body": body},
        )
        return note_id

    return work


def add(note_id: int, body: str) -> Callable[[Session], int]:
    """The ORM way: the row is flushed when the unit ends."""

    def work(session: Session) -> int:
        session.add(Note(id=note_id, body=body))
        return note_id

    return work


_PREPARED_INSERT = Prepared(sa_insert(Note))


def prepared_insert(note_id: int, body: str) -> Callable[[Session], int]:
    """A hot-path unit: statements on the connection directly, no ORM transaction at all."""

    def work(session: Session) -> int:
        _PREPARED_INSERT.run(session, {"id": note_id, "body": body})
        return note_id

    return work


class Refused(Exception):
    """A unit's own refusal (as a 404 or a 429 would be), raised after it wrote."""


def then_refuse(unit: Callable[[Session], int]) -> Callable[[Session], None]:
    def work(session: Session) -> None:
        raise Refused(unit(session))

    return work


def in_one_group(database: Database, units: list[Callable[[Session], Any]]) -> list[Any]:
    """Run `units` as one group: the writer is held by a first unit until all are queued.
    Returns each unit's result or exception, and checks that one transaction carried them."""
    begins: list[str] = []

    def count_begins(*args: Any) -> None:
        if str(args[2]).startswith("BEGIN"):
            begins.append(args[2])

    held, release = threading.Event(), threading.Event()

    def hold(_session: Session) -> None:
        held.set()
        release.wait(10)

    async def run() -> list[Any]:
        blocker = asyncio.ensure_future(database.write(hold))
        await asyncio.to_thread(held.wait, 10)
        event.listen(database.engine, "before_cursor_execute", count_begins)
        try:
            queued = [asyncio.ensure_future(database.write(unit)) for unit in units]
            await asyncio.sleep(0.05)  # every unit is in the writer's queue
            release.set()
            await blocker
            return await asyncio.gather(*queued, return_exceptions=True)
        finally:
            event.remove(database.engine, "before_cursor_execute", count_begins)

    outcomes = asyncio.run(run())
    assert len(begins) == 1, "the units did not share one transaction"
    return outcomes


def stored(database: Database) -> list[tuple[int, str]]:
    rows = database.run_sync(
        lambda s: s.execute(text("SELECT id, body FROM group_commit_notes ORDER BY id")).all(),
        write=False,
    )
    return [(row[0], row[1]) for row in rows]


def test_a_failing_unit_is_undone_alone_and_hears_its_own_error(database: Database) -> None:
    outcomes = in_one_group(
        database,
        [
            insert(1, "one"),
            then_refuse(insert(2, "refused")),
            insert(3, "one"),  # the unique body again: IntegrityError at the statement
            add(4, "four"),
            add(5, "four"),  # the same at the ORM's flush, when the unit ends
            insert(6, "six"),
            then_refuse(prepared_insert(7, "refused-prepared")),
            prepared_insert(8, "six"),  # unique body: IntegrityError from the driver
            prepared_insert(9, "nine"),
        ],
    )
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], Refused)
    assert isinstance(outcomes[2], IntegrityError)
    assert outcomes[3] == 4
    assert isinstance(outcomes[4], IntegrityError)
    assert outcomes[5] == 6
    assert isinstance(outcomes[6], Refused)
    assert isinstance(outcomes[7], IntegrityError)
    assert outcomes[8] == 9
    assert stored(database) == [(1, "one"), (4, "four"), (6, "six"), (9, "nine")]


def test_a_failed_commit_fails_every_unit_and_writes_nothing(database: Database) -> None:
    def orphan(session: Session) -> None:
        # A deferred foreign key is checked by COMMIT only: the whole group's COMMIT fails.
        session.execute(text("INSERT INTO group_commit_children (id, note_id) VALUES (1, 99)"))

    outcomes = in_one_group(database, [insert(1, "one"), orphan, add(2, "two")])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert stored(database) == []
    # The writer goes on serving.
    assert asyncio.run(database.write(insert(3, "three"))) == 3
    assert stored(database) == [(3, "three")]


def _driver_connection(session: Session) -> Any:
    return session.connection().connection.driver_connection


def test_each_thread_keeps_its_connection_from_group_to_group(database: Database) -> None:
    checkouts: list[int] = []
    event.listen(database.engine, "checkout", lambda *_: checkouts.append(1))

    async def run() -> tuple[list[Any], list[Any]]:
        writes, reads = [], []
        for note_id in range(1, 6):
            writes.append(await database.write(_driver_connection))
            await database.write(insert(note_id, f"note {note_id}"))
            reads.append(await database.read(_driver_connection))
        return writes, reads

    writes, reads = asyncio.run(run())
    assert len({id(c) for c in writes}) == 1
    assert len({id(c) for c in reads}) == 1
    assert writes[0] is not reads[0]
    assert len(checkouts) <= 2  # none, if both threads had connected before
    assert [note_id for note_id, _ in stored(database)] == [1, 2, 3, 4, 5]


def test_a_group_that_failed_gives_its_connection_back(database: Database) -> None:
    def orphan(session: Session) -> None:
        session.execute(text("INSERT INTO group_commit_children (id, note_id) VALUES (1, 99)"))

    checkins: list[int] = []
    asyncio.run(database.write(insert(1, "one")))
    event.listen(database.engine, "checkin", lambda *_: checkins.append(1))
    with pytest.raises(IntegrityError):
        asyncio.run(database.write(orphan))  # the COMMIT fails
    # Back to the pool, which resets it (or would discard it, had it broken).
    assert len(checkins) == 1
    assert asyncio.run(database.write(insert(2, "two"))) == 2
    assert asyncio.run(database.write(insert(3, "three"))) == 3
    assert len(checkins) == 1  # the next one is kept again
    assert stored(database) == [(1, "one"), (2, "two"), (3, "three")]


def test_a_unit_never_sees_what_another_unit_left_in_its_session(database: Database) -> None:
    sessions: list[Session] = []

    def untouched(session: Session) -> None:
        sessions.append(session)
        _PREPARED_INSERT.run(session, {"id": 100 + len(sessions), "body": f"p{len(sessions)}"})

    def marks(session: Session) -> None:
        sessions.append(session)
        assert "mark" not in session.info
        session.info["mark"] = True

    def loads(session: Session) -> Note:
        sessions.append(session)
        note = session.get(Note, 1)
        assert note is not None
        return note

    async def run() -> Note:
        await database.write(insert(1, "one"))
        await database.write(untouched)
        await database.write(untouched)  # a session no unit used is kept for the next
        await database.write(marks)
        await database.write(marks)  # not the marked one
        await database.write(add(2, "two"))
        read = await database.read(loads)
        written = await database.write(loads)
        assert read is not written
        return written

    note = asyncio.run(run())
    assert sessions[0] is sessions[1]
    assert sessions[2] is not sessions[3]
    assert len({id(s) for s in sessions[2:]}) == len(sessions) - 2
    # Objects a unit returns are detached with their values loaded, as after a plain commit.
    assert inspect(note).detached
    assert note.body == "one"
    assert [n for n, _ in stored(database)] == [1, 2, 101, 102]


def test_closing_the_database_gives_the_threads_connections_back(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'closing.db'}")
    asyncio.run(database.write(lambda s: s.execute(text("CREATE TABLE t (x INTEGER)"))))
    asyncio.run(database.read(lambda s: s.execute(text("SELECT 1")).all()))
    assert database.engine.pool.checkedout() == 2  # type: ignore[attr-defined]
    database.close()
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
