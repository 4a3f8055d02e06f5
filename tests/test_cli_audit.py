"""`declaration-otp audit ID` and `declaration-otp housekeeping`, against an app's SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from declaration_otp.cli import main
from tests.conftest import TEST_SECRET, Backend, World, make_world, running_backend


@pytest.fixture
def app_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    for backend in running_backend("cli-audit", tmp_path):
        monkeypatch.setenv("DATABASE_URL", backend.settings.database_url)
        monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
        yield backend


def _story(world: World) -> tuple[str, int]:
    request_id = world.create_ok()["id"]
    code = world.backend.code_of(world.active_verification_id(request_id))
    wrong = 100000 if code != 100000 else 100001
    headers = {**world.headers, "X-Request-ID": "cli-wrong-code"}
    assert world.approve(request_id, wrong, headers=headers).status_code == 422
    assert world.approve(request_id, code).status_code == 200
    return str(request_id), code


def test_audit_prints_the_story_in_order(
    app_backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(app_backend)
    request_id, code = _story(world)

    assert main(["audit", request_id]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"declaration request {request_id}: APPROVED")
    assert world.otp_phone not in out and world.otp_phone[:6] + "*****" in lines[0]
    assert lines[1].split() == ["TIME", "EVENT", "VERIFICATION", "ACTOR", "REQUEST_ID", "DETAIL"]
    events = [line.split()[1] for line in lines[2:]]
    assert [e for e in events if e != "sent"] == ["issued", "failed_attempt", "verified"]
    wrong_line = next(line for line in lines if "failed_attempt" in line)
    assert "cli-wrong-code" in wrong_line
    assert f"@{world.legal_entity_id}" in wrong_line
    assert "Invalid verification code (attempt 1 of 3)" in wrong_line
    assert str(code) not in out


def test_audit_of_an_unknown_request_is_a_clear_error(
    app_backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = str(uuid.uuid4())
    assert main(["audit", unknown]) == 2
    err = capsys.readouterr().err
    assert f"no declaration request {unknown}" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "not-a-uuid"])
    assert exit_info.value.code == 2


def test_audit_of_a_request_without_codes(
    app_backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(app_backend)
    request_id = world.create_ok(world.offline_person_id)["id"]
    assert main(["audit", request_id]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no OTP events recorded"


def test_housekeeping_once_from_the_command_line(
    app_backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["housekeeping"]) == 0
    out = capsys.readouterr().out
    assert "housekeeping of sqlite:///" in out
    assert "codes expired: " in out and "events purged: " in out


def test_housekeeping_refuses_a_retention_shorter_than_the_send_limits(
    app_backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RETENTION_VERIFICATIONS_DAYS", "1")
    monkeypatch.setenv("OTP_PHONE_SEND_LIMITS", "5/600,30/604800")
    assert main(["housekeeping"]) == 2
    assert "RETENTION_VERIFICATIONS_DAYS" in capsys.readouterr().err
