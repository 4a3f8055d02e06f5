"""The relay's results written together: those that arrive while one write is in flight go out
as the next, in one unit of work.

A result is a few statements (the attempt closed; the message updated if this relay's claim
still holds; its audit event). Written one unit each, every result also paid a hand-over to a
database thread and a transaction of its own (on PostgreSQL its BEGIN and COMMIT; on SQLite a
SAVEPOINT and its RELEASE under the one write lock), which at saturation is a fifth of the
statements run under that lock. Batched, under light load nothing waits: a result arriving while
nothing is being written is written at once, alone, as before.

Failures keep their former meaning. A database that cannot be reached is tried again
(`RECORD_TRIES`), then the result is given up and the claim left to expire (the message is sent
again: see docs/sms-delivery.md). Any other error, which a batch does not tell apart by result,
has the batch written again one result per unit, so that one bad result holds back no other, and
reaches only its own caller.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from declaration_otp.database import Database, DatabaseUnavailable
from declaration_otp.sms.sent_results import SentResult, write_sent

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How often a result is written again while the database is unreachable, before the claim
# is left to expire (then the message is sent again: see docs/sms-delivery.md).
RECORD_TRIES = 6
# Bounds one unit of work (and so how long it holds SQLite's write lock).
MAX_BATCH = 64


@dataclass(slots=True)
class _Pending:
    work: Callable[[Session], Any]
    future: asyncio.Future[Any]


class ResultWriter:
    def __init__(self, database: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._writing: asyncio.Task[None] | None = None

    async def write(self, work: Callable[[Session], T]) -> T | None:
        """Run `work` (prepared statements only: pipelined on PostgreSQL) in a unit of work with
        the results that came in beside it; its return value, or None when the database stayed
        unreachable."""
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(work, future))
        if self._writing is None:
            # A context of its own: its log lines belong to no one message's request.
            self._writing = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._write_batch(batch)
        except BaseException as error:  # cancelled (shutdown): no caller is left waiting
            for item in self._pending:
                _settle(item.future, error=error)
            self._pending.clear()
            raise
        finally:
            self._writing = None

    async def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            if len(batch) == 1:
                await self._write_alone(batch[0])
                return
            try:
                results = await self._with_retries(
                    lambda session: _write_all(session, [item.work for item in batch])
                )
            except Exception:
                for item in batch:  # each alone: the error belongs to one of them
                    await self._write_alone(item)
                return
        except BaseException as error:  # cancelled: settles those not written yet
            for item in batch:
                _settle(item.future, error=error)
            raise
        for index, item in enumerate(batch):
            _settle(item.future, None if results is None else results[index])

    async def _write_alone(self, item: _Pending) -> None:
        try:
            _settle(item.future, await self._with_retries(item.work))
        except Exception as error:
            _settle(item.future, error=error)

    async def _with_retries(self, work: Callable[[Session], T]) -> T | None:
        for attempt in range(RECORD_TRIES):
            try:
                return await self._database.write(work, pipelined=True)
            except DatabaseUnavailable as error:
                if attempt == RECORD_TRIES - 1:
                    logger.error("relay: could not record a result: %s", error)
                    return None
                await asyncio.sleep(0.1 * 2**attempt)
        return None


def _write_all(session: Session, works: list[Callable[[Session], Any]]) -> list[Any]:
    """Each result's work, in order; a run of messages the gateway took is recorded together
    (see sent_results)."""
    results: list[Any] = []
    sent: list[SentResult] = []
    for work in works:
        if isinstance(work, SentResult):
            sent.append(work)
            continue
        if sent:
            results.extend(write_sent(session, sent))
            sent = []
        results.append(work(session))
    if sent:
        results.extend(write_sent(session, sent))
    return results


def _settle(
    future: asyncio.Future[Any], value: Any = None, *, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled: the result was written all the same
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
