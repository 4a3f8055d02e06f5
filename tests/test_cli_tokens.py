"""`declaration-otp token list` and `token revoke`, in-process against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, select

from declaration_otp import demo
from declaration_otp.cli import main
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.tables import ApiToken, LegalEntity

SECRET = "test-secret-key-for-the-cli-token-tests"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    path = tmp_path / "tokens.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert main(["migrate"]) == 0
    assert main(["registry", "load", str(demo.DEMO_REGISTRY_PATH)]) == 0
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _other_legal_entity(engine: Engine) -> uuid.UUID:
    with Session(engine) as session:
        ids = [row.id for row in session.exec(select(LegalEntity)).all()]
    (other,) = [i for i in ids if i != demo.DEMO_LEGAL_ENTITY_ID]
    return other


def _issue(capsys: pytest.CaptureFixture[str], client_id: uuid.UUID, user: str) -> str:
    capsys.readouterr()
    command = ["token", "issue", "--client-id", str(client_id), "--user-id", user]
    assert main([*command, "--scope", "otp:write declaration_request:read"]) == 0
    return capsys.readouterr().out.strip()


def _row(engine: Engine, token: str) -> ApiToken:
    with Session(engine) as session:
        token_hash = SecretBox(SECRET).token_hash(token)
        return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).one()


def _list(capsys: pytest.CaptureFixture[str], *extra: str) -> list[list[str]]:
    capsys.readouterr()
    assert main(["token", "list", *extra]) == 0
    out = capsys.readouterr().out
    return [line.split() for line in out.splitlines()]


def test_list_shows_every_token_but_never_a_secret(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _other_legal_entity(engine)
    first = _issue(capsys, demo.DEMO_LEGAL_ENTITY_ID, "doctor-1")
    second = _issue(capsys, other, "nurse-2")

    capsys.readouterr()
    assert main(["token", "list"]) == 0
    captured = capsys.readouterr()
    for secret in (first, second, _row(engine, first).token_hash, _row(engine, second).token_hash):
        assert secret not in captured.out and secret not in captured.err
    header, *rows = [line.split() for line in captured.out.splitlines()]
    assert header == ["ID", "CLIENT_ID", "USER_ID", "SCOPES", "EXPIRES_AT", "REVOKED_AT", "STATE"]
    by_id = {row[0]: row for row in rows}
    row = by_id[str(_row(engine, first).id)]
    assert row[1:4] == [str(demo.DEMO_LEGAL_ENTITY_ID), "doctor-1", "declaration_request:read"]
    assert row[4] == "otp:write"  # scopes are space-separated: two columns here
    assert row[-2:] == ["-", "active"]
    assert str(_row(engine, second).id) in by_id

    only_other = _list(capsys, "--client-id", str(other))[1:]
    assert [r[0] for r in only_other] == [str(_row(engine, second).id)]


def test_revoke_by_id_marks_the_token_revoked_once(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _issue(capsys, demo.DEMO_LEGAL_ENTITY_ID, "doctor-1")
    token_id = str(_row(engine, token).id)

    assert main(["token", "revoke", token_id]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"revoked token {token_id}") and token not in out
    revoked_at = _row(engine, token).revoked_at
    assert revoked_at is not None

    assert main(["token", "revoke", token_id]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert _row(engine, token).revoked_at == revoked_at  # the first time is kept

    (row,) = [r for r in _list(capsys)[1:] if r[0] == token_id]
    assert row[-1] == "revoked"


def test_list_shows_expired_tokens_as_expired(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _issue(capsys, demo.DEMO_LEGAL_ENTITY_ID, "doctor-1")
    token_id = _row(engine, token).id
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.add(row)
        session.commit()
    (listed,) = [r for r in _list(capsys)[1:] if r[0] == str(token_id)]
    assert listed[-1] == "expired"


def test_revoking_an_unknown_token_exits_2(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = str(uuid.uuid4())
    assert main(["token", "revoke", unknown]) == 2
    assert capsys.readouterr().err.strip() == (
        f"declaration-otp: no token with id {unknown} (see `declaration-otp token list`)"
    )


def test_revoke_needs_a_uuid(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "revoke", "dotp_not-an-id"])
    assert exit_info.value.code == 2
    assert "must be a UUID" in capsys.readouterr().err


def test_token_commands_refuse_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    for command in (["token", "list"], ["token", "revoke", str(uuid.uuid4())]):
        assert main(command) == 2
        assert "schema is not current" in capsys.readouterr().err
