"""Every statement a real resend_otp runs is served by an index, on both databases.

The statements are captured from the product while it answers one resend over HTTP (not
written out by hand here), then EXPLAINed with their own parameters: a predicate that no index
can serve (say `active IS true` against partial indexes `WHERE active`) fails here.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from declaration_otp.migrate import upgrade
from tests.conftest import World, full_scans

# Statements that touch no table rows by a predicate: nothing to plan.
_NOT_PLANNED = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|INSERT|SELECT 1\b|EXPLAIN|SET)", re.I
)


def test_every_resend_statement_uses_an_index(
    world: World, captured: list[tuple[str, Any]]
) -> None:
    request = world.create_ok()
    world.backend.clock.advance(61)
    captured.clear()

    response = world.resend(request["id"])

    assert response.status_code == 200, response.text
    world.backend.wait_for_sms(response.json()["data"]["id"])
    # The SMS is claimed with the code (no statement of its own); the relay writes its result
    # once the provider has answered, which is after the file shows the message.
    deadline = time.monotonic() + 10
    while not any("sms_messages" in s for s, _ in captured) and time.monotonic() < deadline:
        time.sleep(0.02)
    statements = list(captured)
    tables = {"verifications", "sms_messages", "api_tokens"}
    if not world.backend.database.is_sqlite:  # the phone's lock: SQLite's one writer is its own
        tables.add("phone_send_states")
    seen = {table for table in tables for statement, _ in statements if table in statement}
    assert seen == tables, f"the capture missed statements: only {seen}"
    scans = {
        statement: found
        for statement, parameters in statements
        if not _NOT_PLANNED.match(statement)
        and (found := full_scans(world.backend.database.engine, statement, parameters))
    }
    assert not scans, scans


def _trigger_statements(path: Path, name: str) -> list[str]:
    """The statements of trigger `name`, each with its `NEW.` values as named parameters."""
    connection = sqlite3.connect(path)
    try:
        (sql,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
        ).fetchone()
    finally:
        connection.close()
    body = sql[sql.index("BEGIN") + len("BEGIN") : sql.rindex("END")]
    return [re.sub(r"NEW\.(\w+)", r":\1", part.strip()) for part in body.split(";") if part.strip()]


def test_every_statement_of_the_sqlite_code_issue_trigger_uses_an_index(tmp_path: Path) -> None:
    """SQLite writes a resend's rows through the `code_issues` view's trigger (migration 0005);
    the capture above sees it as one INSERT into the view. Each of its statements is EXPLAINed
    here."""
    path = tmp_path / "plans.db"
    upgrade(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    plans: dict[str, list[str]] = {}
    try:
        for statement in _trigger_statements(path, "code_issues_insert"):
            parameters = dict.fromkeys(re.findall(r":(\w+)", statement))
            rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            plans[statement] = [str(row[-1]) for row in rows]
    finally:
        connection.close()

    assert len(plans) == 7, list(plans)
    scans = {
        statement: plan
        for statement, plan in plans.items()
        # "SCAN CONSTANT ROW": the attempt's INSERT … SELECT of NEW values, no table read.
        if any(
            line.startswith("SCAN") and "INDEX" not in line and line != "SCAN CONSTANT ROW"
            for line in plan
        )
    }
    assert not scans, scans
    # The replaced codes' queued SMS are found by the codes' ids, never among every queued SMS
    # by status (thousands when the relay is behind).
    (dropped,) = (plan for statement, plan in plans.items() if statement.startswith("UPDATE sms"))
    assert any("ix_sms_messages_verification_id" in line for line in dropped), dropped
    assert not any("ix_sms_messages_due" in line for line in dropped), dropped
