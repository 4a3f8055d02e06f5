"""Alembic revisions build the schema the tables describe, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from declaration_otp.migrate import alembic_config, upgrade
from declaration_otp.schema_version import HEAD_REVISION
from tests.conftest import Backend, _postgres_database


def test_the_head_revision_the_code_expects_is_the_newest_migration() -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head == HEAD_REVISION, (
        f"a new migration: set HEAD_REVISION in declaration_otp/schema_version.py to {head!r}"
    )


def test_fresh_sqlite_database_migrates_with_no_pending_changes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    command.check(alembic_config(url))


def test_backend_schema_matches_the_tables(backend: Backend) -> None:
    command.check(alembic_config(backend.settings.database_url))


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)


@pytest.mark.parametrize(
    "index", ["uq_verifications_active_phone", "uq_verifications_active_declaration_request"]
)
def test_one_active_code_is_a_partial_unique_index(backend: Backend, index: str) -> None:
    engine = sa.create_engine(backend.settings.database_url)
    indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes("verifications")}
    engine.dispose()
    assert indexes[index]["unique"]


def _indexes(url: str, table: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        return {i["name"]: i for i in sa.inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def _where(index: dict[str, Any]) -> str:
    options = index.get("dialect_options", {})
    where = options.get("postgresql_where", options.get("sqlite_where"))
    return "" if where is None else str(where)


def _assert_fewer_index_writes(url: str) -> None:
    provider = _indexes(url, "sms_messages")["ix_sms_messages_provider"]
    assert provider["column_names"] == ["gateway", "provider_message_id"]
    assert "provider_message_id IS NOT NULL" in _where(provider)
    assert "ix_sms_attempts_message_id" not in _indexes(url, "sms_attempts")


def test_provider_index_is_partial_and_attempts_have_no_second_message_index(
    backend: Backend,
) -> None:
    _assert_fewer_index_writes(backend.settings.database_url)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_fewer_index_writes_downgrades_and_upgrades_again(kind: str, tmp_path: Path) -> None:
    urls = (
        iter([f"sqlite:///{tmp_path / 'indexes.db'}"]) if kind == "sqlite" else _postgres_database()
    )
    for url in urls:
        upgrade(url)
        command.downgrade(alembic_config(url), "0003")
        provider = _indexes(url, "sms_messages")["ix_sms_messages_provider"]
        assert not _where(provider)
        assert "ix_sms_attempts_message_id" in _indexes(url, "sms_attempts")
        upgrade(url)
        _assert_fewer_index_writes(url)
        command.check(alembic_config(url))


def _sqlite_objects(url: str) -> set[tuple[str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger')"
            )
            return {(str(kind), str(name)) for kind, name in rows}
    finally:
        engine.dispose()


def test_code_issues_view_and_trigger_come_and_go_with_revision_0005(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'code_issues.db'}"
    issues = {("view", "code_issues"), ("trigger", "code_issues_insert")}
    upgrade(url)
    assert issues <= _sqlite_objects(url)
    command.downgrade(alembic_config(url), "0004")
    assert not issues & _sqlite_objects(url)
    upgrade(url)
    assert issues <= _sqlite_objects(url)
    command.check(alembic_config(url))
