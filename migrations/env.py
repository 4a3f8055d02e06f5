"""Alembic environment: the database URL comes from the caller or from Settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel.sql.sqltypes import AutoString

from declaration_otp import tables
from declaration_otp.settings import Settings

target_metadata = tables.SQLModel.metadata


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | bool:
    """Spell our column types so that revisions import what they use."""
    if type_ == "type" and isinstance(obj, AutoString):
        length = f"length={obj.length}" if obj.length else ""
        return f"sqlmodel.sql.sqltypes.AutoString({length})"
    if type_ == "type" and isinstance(obj, tables.UtcDateTime):
        return "declaration_otp.tables.UtcDateTime()"
    return False


def _url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    return configured or Settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(_url(), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
