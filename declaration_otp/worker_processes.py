"""`serve --workers N`: worker processes forked from a supervisor that imported the app once.

uvicorn starts its workers with multiprocessing's *spawn*: each worker is a new interpreter that
imports the CLI, uvicorn and the whole app again, after the supervisor did most of that already;
two workers on two cores were ready about half a second later than one. On Linux the supervisor
imports the app before starting them and they are forked from it: a worker only builds its app
(`app_from_environment`) and runs its lifespan (database, relay), exactly as a spawned one would.
(macOS has fork too, but its system libraries are not fork-safe: Python spawns there by default,
and so do we.)

Forking is safe only from a process with one thread (a fork copies locks other threads may hold):
the supervisor checks that it has no other thread and otherwise keeps spawn. Worker processes
share their Prometheus metrics through files (see metrics.py); the directory is named in the
environment *before* prometheus_client is imported, since it picks its storage at import.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

# prometheus_client reads it when first imported (see metrics.py).
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def multiprocess_metrics_dir() -> Iterator[None]:
    """Worker processes share their metrics through files in PROMETHEUS_MULTIPROC_DIR: a fresh
    temporary directory, removed on exit, unless the operator named one (then emptied first)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="declaration-otp-metrics-") as directory:
        os.environ[MULTIPROC_ENV] = directory
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_ENV, None)


def fork_workers_from_here() -> bool:
    """Import the app now and have uvicorn fork its workers from this process; False (spawn
    kept) where fork is unavailable or unsafe. Call inside `multiprocess_metrics_dir`."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return False
    import uvicorn._subprocess
    from uvicorn.supervisors.multiprocess import SIGNALS

    # The worker's import, done once: every forked worker starts with it.
    import declaration_otp.app  # noqa: F401
    from declaration_otp.startup_heap import freeze_startup_heap

    # uvicorn's supervisor queues these signals for itself; a worker forked from it must react
    # as a spawned one does (stop) until its own server installs its handlers.
    inherited = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def restore_signals() -> None:
        for sig, handler in inherited.items():
            if handler is not None:
                signal.signal(sig, handler)

    os.register_at_fork(after_in_child=restore_signals)
    freeze_startup_heap()
    uvicorn._subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]
    return True
