"""`registry load` of a large file: chunked writes, progress on stderr, a summary, sane time."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from declaration_otp.cli import main
from declaration_otp.progress import ProgressLine
from declaration_otp.tables import AuthenticationMethod, Person

PERSONS = 5000


def _registry(persons: int) -> dict[str, Any]:
    legal_entity = str(uuid.uuid4())
    return {
        "legal_entities": [
            {"id": legal_entity, "name": "Клініка", "short_name": "К", "edrpou": "38782323"}
        ],
        "divisions": [{"id": str(uuid.uuid4()), "legal_entity_id": legal_entity, "name": "A"}],
        "employees": [],
        "persons": [
            {
                "id": str(uuid.uuid4()),
                "first_name": "Петро",
                "last_name": "Іваненко",
                "birth_date": "1991-08-19",
                "authentication_methods": [
                    {"id": str(uuid.uuid4()), "type": "OTP", "phone_number": f"+38093{n:07d}"},
                    {"id": str(uuid.uuid4()), "type": "OFFLINE"},
                ],
            }
            for n in range(persons)
        ],
    }


def test_a_large_registry_loads_in_chunks_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "large.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    file = tmp_path / "registry.json"
    file.write_text(json.dumps(_registry(PERSONS)), encoding="utf-8")
    assert main(["migrate"]) == 0
    capsys.readouterr()

    started = time.monotonic()
    assert main(["registry", "load", str(file)]) == 0
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert f"persons: {PERSONS} ({PERSONS} new, 0 updated)" in captured.out
    assert f"authentication_methods: {2 * PERSONS}" in captured.out
    # Not a terminal: one line per tenth of each kind, then the total.
    progress = [line.strip() for line in captured.err.splitlines()]
    assert f"checked {PERSONS + 2} entries" in captured.err
    assert "persons: 500/5000 (10%)" in progress and "persons: 5000/5000 (100%)" in progress
    assert sum(line.startswith("persons: ") for line in progress) == 10
    assert "authentication_methods: 10000/10000 (100%)" in progress
    assert progress[-1].startswith("done in ")
    assert elapsed < 60, f"{PERSONS} persons took {elapsed:.1f} s"

    # Loading it again updates every row in place.
    assert main(["registry", "load", str(file)]) == 0
    assert f"persons: {PERSONS} (0 new, {PERSONS} updated)" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Person)).scalar() == PERSONS
        methods = connection.execute(select(func.count()).select_from(AuthenticationMethod))
        assert methods.scalar() == 2 * PERSONS
    engine.dispose()


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream, interactive=True)
    for done in (500, 1000, 1500):
        progress("persons", done, 1500)
    assert stream.getvalue() == (
        "\r  persons: 500/1500 (33%)\r  persons: 1000/1500 (66%)\r  persons: 1500/1500 (100%)\n"
    )
