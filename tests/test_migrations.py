"""Alembic revisions build the schema the tables describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from declaration_otp.migrate import alembic_config, upgrade
from declaration_otp.schema_version import HEAD_REVISION
from tests.conftest import Backend


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
