"""The `declaration-otp` command, run in-process against a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect
from sqlmodel import Session, func, select

from declaration_otp import demo
from declaration_otp.cli import main
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.tables import ApiToken, LegalEntity

SECRET = "test-secret-key-for-the-cli-tests"
SCOPES = "declaration_request:write otp:write"


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    return path


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def loaded(db_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["migrate"]) == 0
    assert main(["registry", "load", str(demo.DEMO_REGISTRY_PATH)]) == 0
    capsys.readouterr()
    return db_path


def _issue(client_id: str, *extra: str) -> int:
    command = ["token", "issue", "--client-id", client_id, "--user-id", "doctor-1"]
    return main([*command, "--scope", SCOPES, *extra])


def test_migrate_load_and_issue_a_token(
    db_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert "upgraded from empty to" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "already at revision" in capsys.readouterr().out

    assert main(["registry", "load", str(demo.DEMO_REGISTRY_PATH)]) == 0
    out = capsys.readouterr().out
    assert "legal_entities: 2 (2 new, 0 updated)" in out
    assert "authentication_methods: 5" in out

    assert _issue(str(demo.DEMO_LEGAL_ENTITY_ID), "--ttl", "3600") == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert captured.out == token + "\n"
    assert token.startswith("dotp_")
    assert token not in captured.err

    with Session(engine) as session:
        row = session.exec(
            select(ApiToken).where(ApiToken.token_hash == SecretBox(SECRET).token_hash(token))
        ).one()
        assert row.client_id == demo.DEMO_LEGAL_ENTITY_ID
        assert row.user_id == "doctor-1"
        assert row.scope == "declaration_request:write otp:write"
        assert row.expires_at is not None
        for column in inspect(ApiToken).columns:
            assert token not in str(getattr(row, column.key))
    engine.dispose()
    # Not in any column, nor anywhere in the database files (WAL included).
    for path in db_path.parent.glob(db_path.name + "*"):
        assert token.encode() not in path.read_bytes()


def test_token_for_unknown_legal_entity_exits_2(
    loaded: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "10000000-0000-4000-8000-0000000000ff"

    assert _issue(unknown) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"unknown legal entity {unknown}" in captured.err
    assert "Traceback" not in captured.err
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ApiToken)).one() == 0


def test_token_with_unknown_scope_exits_2(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client_id = str(demo.DEMO_LEGAL_ENTITY_ID)
    command = ["token", "issue", "--client-id", client_id, "--user-id", "u", "--scope", "otp:wrte"]

    assert main(command) == 2

    assert "unknown scope(s) otp:wrte" in capsys.readouterr().err


def test_bad_registry_file_exits_2_and_loads_nothing(
    db_path: Path, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    bad = tmp_path / "bad.yaml"
    text = demo.DEMO_REGISTRY_PATH.read_text(encoding="utf-8")
    bad.write_text(
        text.replace('edrpou: "43218765"', 'edrpou: "4321"').replace("type: OTP", "type: SMS"),
        encoding="utf-8",
    )
    capsys.readouterr()

    assert main(["registry", "load", str(bad)]) == 2

    err = capsys.readouterr().err
    assert "registry rejected, nothing was loaded" in err
    assert "legal_entities[0] (id 10000000-0000-4000-8000-000000000001): edrpou:" in err
    assert "persons[0] (id 40000000-0000-4000-8000-000000000001): authentication_methods[0]" in err
    assert "persons[3]" in err
    assert "Traceback" not in err
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(LegalEntity)).one() == 0


def test_missing_registry_file_exits_2(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"

    assert main(["registry", "load", str(missing)]) == 2

    assert f"{missing}: no such file" in capsys.readouterr().err


def test_commands_refuse_an_unmigrated_database(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "load", str(demo.DEMO_REGISTRY_PATH)]) == 2
    assert _issue(str(demo.DEMO_LEGAL_ENTITY_ID)) == 2

    err = capsys.readouterr().err
    assert err.count("database schema is not current: run `declaration-otp migrate`") == 2
    # Checking did not create the SQLite file as a side effect.
    assert not db_path.exists()


def test_unreachable_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")

    assert main(["migrate"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("declaration-otp: database sqlite:///")
    assert "unable to open database file" in err
    assert err.count("\n") == 1
