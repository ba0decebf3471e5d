"""The schema comes only from Alembic: the migrations build exactly what the models describe, and go both ways."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from alembic import command
from backend.config import Settings
from backend.db import Base, make_engine
from backend.models import register_all
from tests.support.databases import DatabaseServer, alembic_config


def differences(url: str) -> list[Any]:
    register_all()

    async def compare() -> list[Any]:
        engine = make_engine(Settings(database_url=url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(compare())


def tables(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = make_engine(Settings(database_url=url))
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(names())


def test_models_and_migrations_agree_and_migrate_both_ways(database_server: DatabaseServer) -> None:
    url = database_server.new_database("spasm_migrations")
    config = alembic_config(url)

    command.upgrade(config, "head")
    assert differences(url) == []
    expected = set(Base.metadata.tables)
    assert expected <= tables(url)

    command.downgrade(config, "base")
    assert tables(url) & expected == set()

    command.upgrade(config, "head")
    assert differences(url) == []
    assert expected <= tables(url)


def test_a_model_change_without_a_migration_is_noticed(database_server: DatabaseServer) -> None:
    """The comparison above can fail: a column that only the model has shows up as a difference."""
    from sqlalchemy import Column, Integer

    url = database_server.new_database("spasm_migrations_drift")
    command.upgrade(alembic_config(url), "head")
    table = Base.metadata.tables["checkins"]
    extra = Column("mood", Integer, nullable=True)
    table.append_column(extra)
    try:
        found = differences(url)
    finally:
        table._columns.remove(extra)  # leave the shared metadata as it was
    assert any(d[0] == "add_column" and d[3].name == "mood" for d in found), found
