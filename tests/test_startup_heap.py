"""A serving process's start-up objects are left out of the garbage collector's passes
(`startup_heap.py`): a full pass over them stalled a worker for 90-190 ms under load."""

from __future__ import annotations

import gc
from pathlib import Path

from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.settings import Settings


def _collected_over(thing: object) -> bool:
    """Whether the collector's passes still look at `thing` (frozen objects are not listed)."""
    return any(tracked is thing for tracked in gc.get_objects())


def test_what_the_process_holds_when_the_app_starts_is_frozen(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        relay_enabled=False,
        housekeeping_enabled=False,
    )
    app = create_app(settings)
    held_from_before = {"made": ["before the start"]}
    assert _collected_over(held_from_before)
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        assert not _collected_over(held_from_before)
        # What the process makes afterwards is collected as before.
        made_later = {"made": ["while serving"]}
        assert _collected_over(made_later)
