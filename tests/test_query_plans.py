"""Every statement a real resend_otp runs is served by an index, on both databases.

The statements are captured from the product while it answers one resend over HTTP (not
written out by hand here), then EXPLAINed with their own parameters: a predicate that no index
can serve (say `active IS true` against partial indexes `WHERE active`) fails here.
"""

from __future__ import annotations

import re
from typing import Any

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
