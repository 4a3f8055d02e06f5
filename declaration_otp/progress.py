"""Progress of long command-line work, on stderr (stdout stays for results).

On a terminal one line is redrawn in place; otherwise (a log, CI) a line is written per tenth of
each kind, so a large load shows it is alive without flooding the log.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """A `registry.Progress` callback: `progress(kind, done, total)`."""

    def __init__(self, stream: TextIO | None = None, *, interactive: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self._next_report: dict[str, int] = {}

    def __call__(self, kind: str, done: int, total: int) -> None:
        if self.interactive:
            end = "\n" if done >= total else ""
            self.stream.write(f"\r  {kind}: {done}/{total} ({_percent(done, total)}){end}")
            self.stream.flush()
            return
        step = max(1, total // 10)
        if done >= total or done >= self._next_report.get(kind, step):
            self._next_report[kind] = (done // step + 1) * step
            print(f"  {kind}: {done}/{total} ({_percent(done, total)})", file=self.stream)

    def note(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _percent(done: int, total: int) -> str:
    return f"{100 * done // total}%" if total else "100%"
