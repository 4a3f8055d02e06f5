"""What a serving process holds from its start is kept out of the garbage collector's full passes.

A worker holds about 125,000 objects the collector tracks once the app is imported and built
(modules, classes, functions, the parsed description, SQLAlchemy's and connexion's tables), and
nearly all of them live as long as the process. CPython's full collection walks every one: 90-190
ms on the benchmark machine, during which the worker's event loop answers nothing. Under heavy
load such a pass came every few seconds (objects of requests in flight are promoted to the
oldest generation as they outlive younger collections, and that count triggers it); where one
fell in a measured window it made the resends' p99: 184-220 ms at 50-200 req/s where the median
was 6-9 ms.

`gc.freeze()` moves every object tracked at that moment to a permanent generation that
collections skip; the passes after it took 4-14 ms. Objects made later are collected as before,
so cycles of requests, units of work and connections are still freed. The pass before freezing
is skipped on purpose: it would cost a full collection's time in every start, to free a few
dozen objects once.

Called once the process is ready to serve (the lifespan's start-up), and in the supervisor right
before it forks its workers, as Python's documentation suggests for processes that fork: a
worker's collections then never write into the pages it shares with the supervisor
(copy-on-write).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    gc.freeze()
