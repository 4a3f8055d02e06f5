"""SQLite WAL checkpoints in a thread of their own, off the writers' path.

By default SQLite checkpoints inside the COMMIT that takes the write-ahead log past 1,000 pages:
that COMMIT copies the log back into the database file and waits for two fsyncs while its
writer still holds the cross-process writer queue, so every writer of every worker waits behind
it (tens of milliseconds on a shared disk; the tail of resend_otp's latency). Here a thread
runs `PRAGMA wal_checkpoint(PASSIVE)` a few times a second on a connection of its own: PASSIVE
never waits for readers or writers, the fsyncs happen while the writers go on, and the log is
recycled once fully copied. Connections keep an automatic checkpoint at a much larger size as a
bound, should this thread fall behind.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

# Pages (4 KiB) the log may reach before a COMMIT checkpoints anyway: the fallback bound.
FALLBACK_AUTOCHECKPOINT_PAGES = 20_000
INTERVAL_SECONDS = 0.25


class Checkpointer:
    def __init__(self, engine: Engine, *, interval_seconds: float = INTERVAL_SECONDS) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.checkpoint()
            except (DBAPIError, OSError) as error:  # e.g. the file is gone; the next round retries
                logger.debug("sqlite checkpoint skipped: %s", type(error).__name__)
            except Exception:
                logger.exception("sqlite checkpoint failed")

    def checkpoint(self) -> None:
        # The driver connection itself: no transaction around it (a checkpoint cannot run in one).
        pooled = self._engine.raw_connection()
        try:
            cursor = pooled.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            cursor.close()
        finally:
            pooled.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
