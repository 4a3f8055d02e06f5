"""The write-ahead log is copied back into the database file by the checkpointer thread, not
by a writer's COMMIT (which would hold every worker's writers while it fsyncs)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from declaration_otp.database import Database
from declaration_otp.sqlite_checkpoint import FALLBACK_AUTOCHECKPOINT_PAGES, INTERVAL_SECONDS


def test_the_log_reaches_the_database_file_without_a_commit_checkpointing(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    database = Database.from_url(f"sqlite:///{path}")
    try:
        database.run_sync(
            lambda s: s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")),
            write=True,
        )
        size_before = path.stat().st_size

        async def write_rows() -> None:
            def insert(session: Session) -> None:
                session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 2000})

            await asyncio.gather(*(database.write(insert) for _ in range(300)))

        asyncio.run(write_rows())
        # ~150 pages of log: far below the commits' own checkpoint threshold.
        wal_pages = Path(f"{path}-wal").stat().st_size // 4096
        assert wal_pages < FALLBACK_AUTOCHECKPOINT_PAGES
        deadline = time.monotonic() + 20 * INTERVAL_SECONDS
        while path.stat().st_size <= size_before + 300 * 2000 and time.monotonic() < deadline:
            time.sleep(INTERVAL_SECONDS / 2)
        assert path.stat().st_size > size_before + 300 * 2000
        count = database.run_sync(
            lambda s: s.execute(text("SELECT count(*) FROM t")).scalar(), write=False
        )
        assert count == 300
    finally:
        database.close()
