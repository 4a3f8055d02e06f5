"""Structured logs: request ids on every line, one format for every library, and never a code,
a token or a full phone number — whatever the log level."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from declaration_otp.logging_setup import (
    bound_request_id,
    logging_config,
    make_handler,
    redact,
)
from declaration_otp.settings import Settings
from tests.conftest import ALL_SCOPES, Backend, World, random_phone, running_backend


@contextmanager
def captured_logs(log_format: str = "json") -> Iterator[io.StringIO]:
    """Every logger at DEBUG (SQLAlchemy's statement log at INFO) into the service's handler."""
    buffer = io.StringIO()
    handler = make_handler(log_format, buffer)
    root = logging.getLogger()
    saved_root = root.level
    saved: dict[str, tuple[int, bool]] = {}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            saved[name] = (logger.level, logger.disabled)
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
    for name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine"):
        logger = logging.getLogger(name)
        saved.setdefault(name, (logger.level, logger.disabled))
        logger.setLevel(logging.INFO)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, (level, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.disabled = disabled


def _records(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    # JSON format: one object per line, tracebacks included.
    return [json.loads(line) for line in lines]


def _code_in(text: str, code: int | str) -> bool:
    # Digits standing alone: not inside a UUID, a hex string, a timestamp's fraction or a longer
    # number, where six digits turn up by chance.
    return re.search(rf"(?<![0-9A-Za-z.\-]){code}(?![0-9A-Za-z])", text) is not None


def _assert_clean(text: str, *, codes: list[int], secrets: list[str], phones: list[str]) -> None:
    for code in codes:
        assert not _code_in(text, code), f"code {code} in the logs"
    for secret in secrets:
        assert secret not in text, "a token in the logs"
        assert secret.removeprefix("dotp_") not in text, "a token's secret part in the logs"
    for phone in phones:
        digits = phone.removeprefix("+")
        assert digits not in text, f"{phone} in the logs"


def _wrong(code: int) -> int:
    return 100000 + (code - 100000 + 1) % 900000


def test_redact_masks_phones_and_tokens() -> None:
    token = "dotp_" + "Ab3_-" * 8 + "xyz"
    text = f"to +380931234567 or %2B380931234567, token {token}; id 123e4567 and +1234"
    assert redact(text) == (
        "to +38093*****67 or %2B38093*****67, token dotp_***; id 123e4567 and +1234"
    )


def test_json_and_text_lines_carry_the_request_id() -> None:
    for log_format in ("json", "text"):
        buffer = io.StringIO()
        logger = logging.getLogger(f"tests.format.{log_format}")
        logger.propagate = False
        logger.addHandler(make_handler(log_format, buffer))
        logger.setLevel(logging.INFO)
        with bound_request_id("3fa85f64-5717-4562-b3fc-2c963f66afa6#7"):
            logger.info("sent to %s", "+380931234567", extra={"status": 200})
        logger.info("outside")
        logger.handlers.clear()
        lines = buffer.getvalue().splitlines()
        if log_format == "json":
            first, second = (json.loads(line) for line in lines)
            assert first["message"] == "sent to +38093*****67"
            assert first["request_id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6#7"
            assert first["level"] == "INFO" and first["status"] == 200
            assert second["request_id"] == "-"
        else:
            assert "[3fa85f64-5717-4562-b3fc-2c963f66afa6#7] sent to +38093*****67" in lines[0]
            assert "[-] outside" in lines[1]


@contextmanager
def restored_logging() -> Iterator[None]:
    """Put every logger back as it was (dictConfig changes the process's whole tree)."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.handlers[:], lg.propagate, lg.disabled) for lg in loggers]
    try:
        yield
    finally:
        for logger, level, handlers, propagate, disabled in saved:
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled
        logging.captureWarnings(False)


def test_uvicorn_connexion_and_sqlalchemy_log_through_the_same_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(log_format="json", log_sql=True, log_level="INFO")
    with restored_logging():
        logging.config.dictConfig(logging_config(settings))
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("uvicorn.access").info("not ours")  # ours is the app's access line
        logging.getLogger("connexion.middleware").warning("from connexion")
        logging.getLogger("httpx").info("too chatty")
        assert logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)
        assert not logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.DEBUG)
    records = _records(capsys.readouterr().err)
    assert [(r["logger"], r["message"]) for r in records] == [
        ("uvicorn.error", "Started server process [42]"),
        ("connexion.middleware", "from connexion"),
    ]


def test_no_code_token_or_phone_ever_reaches_the_logs(backend: Backend, world: World) -> None:
    client = backend.client
    other_phone = random_phone()
    unknown_token = "dotp_" + uuid.uuid4().hex + uuid.uuid4().hex[:11]
    expired = world.token_with(ALL_SCOPES, ttl_seconds=1)
    read_only = world.token_with(["declaration_request:read"])
    otp_read = world.token_with(["otp:read"])
    codes: list[int] = []
    with captured_logs() as logs:
        # Declaration request: create, resend, a 429, a wrong and the right code.
        created = client.post(
            "/api/v3/declaration_requests",
            json={
                "person_id": world.otp_person_id,
                "employee_id": world.doctor_id,
                "division_id": world.division_id,
            },
            headers={**world.headers, "X-Request-ID": "leak-create#1"},
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["data"]["id"]
        codes.append(backend.code_of(world.active_verification_id(request_id)))
        backend.clock.advance(61)
        resent = world.resend(
            request_id, headers={**world.headers, "X-Request-ID": "leak-resend#1"}
        )
        assert resent.status_code == 200, resent.text
        code = backend.code_of(resent.json()["data"]["id"])
        codes += [code, _wrong(code)]
        assert world.resend(request_id).status_code == 429
        assert world.approve(request_id, _wrong(code)).status_code == 422
        assert world.approve(request_id, code).status_code == 200

        # The OTP verification API: the phone is in the body and in the path.
        started = client.post(
            "/api/verifications", json={"phone_number": other_phone}, headers=world.headers
        )
        assert started.status_code == 201, started.text
        phone_code = backend.code_of(started.json()["data"]["id"])
        codes += [phone_code, _wrong(phone_code)]
        complete = f"/api/verifications/{other_phone}/actions/complete"
        wrong = client.patch(complete, json={"code": _wrong(phone_code)}, headers=world.headers)
        assert wrong.status_code == 403
        right = client.patch(complete, json={"code": phone_code}, headers=world.headers)
        assert right.status_code == 200, right.text
        encoded = other_phone.replace("+", "%2B")
        assert client.get(f"/api/verifications/{encoded}", headers=otp_read).status_code == 200

        # Tokens: unknown, expired, short of a scope, and the OAuth2 exchange (bad and good).
        listing = "/api/v3/declaration_requests"
        bearer = {"Authorization": f"Bearer {unknown_token}"}
        assert client.get(listing, headers=bearer).status_code == 401
        backend.clock.advance(5)
        assert client.get(listing, headers=expired).status_code == 401
        assert (
            client.post(f"{listing}/{request_id}/actions/resend_otp", headers=read_only).status_code
            == 403
        )
        form = {"grant_type": "client_credentials", "client_id": world.legal_entity_id}
        refused = client.post("/oauth/token", data={**form, "client_secret": unknown_token})
        assert refused.status_code == 401
        granted = client.post("/oauth/token", data={**form, "client_secret": world.token})
        assert granted.status_code == 200, granted.text
        access_token = granted.json()["access_token"]
        assert client.get(f"/nowhere/{world.token}", headers=world.headers).status_code == 404

    text = logs.getvalue()
    records = _records(text)
    tokens = [
        world.token,
        unknown_token,
        access_token,
        expired["Authorization"].split()[1],
        read_only["Authorization"].split()[1],
    ]
    _assert_clean(text, codes=codes, secrets=tokens, phones=[world.otp_phone, other_phone])

    # Every line of a request carries its id; so do the relay's lines for the SMS it queued.
    resend_lines = [r for r in records if r["request_id"] == "leak-resend#1"]
    assert any(r.get("operation") == "resend_otp" and r.get("status") == 200 for r in resend_lines)
    assert any("sent via file" in r["message"] for r in resend_lines), resend_lines
    assert any(r["logger"].startswith("sqlalchemy.engine") for r in resend_lines)
    assert "SQL parameters hidden" in text
    access = [r for r in records if r["logger"] == "declaration_otp.access"]
    assert {r["operation"] for r in access} >= {
        "create_declaration_request",
        "resend_otp",
        "approve_declaration_request",
        "initialize_verification",
        "complete_verification",
        "get_verified_phone",
        "issue_access_token",
        "other",
    }
    assert all(isinstance(r["duration_ms"], float) for r in access)


def test_introspection_failures_log_no_token(tmp_path: Path) -> None:
    token = "eyJhbGciOi." + uuid.uuid4().hex
    for backend in running_backend(
        "introspection-logs",
        tmp_path,
        auth_mode="introspection",
        auth_introspection_url="http://127.0.0.1:9/introspect",
        auth_introspection_client_id="declaration-otp",
        auth_introspection_client_secret="client-secret-value",
        relay_enabled=False,
    ):
        with captured_logs() as logs:
            response = backend.client.get(
                "/api/v3/declaration_requests", headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 503
        text = logs.getvalue()
        assert "token introspection unavailable" in text
        assert token not in text and "client-secret-value" not in text


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tracebacks_are_redacted(log_format: str) -> None:
    buffer = io.StringIO()
    logger = logging.getLogger(f"tests.traceback.{log_format}")
    logger.propagate = False
    logger.addHandler(make_handler(log_format, buffer))
    try:
        raise ValueError("no route to +380931234567 with dotp_secretsecretsecret")
    except ValueError:
        logger.exception("failed")
    text = buffer.getvalue()
    assert "ValueError" in text
    assert "+380931234567" not in text and "secretsecret" not in text
