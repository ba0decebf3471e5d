"""Alembic runs the migrations with the same engine settings as the app (SQLite pragmas included)."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from sqlalchemy.engine import Connection

from alembic import context
from backend.config import load_settings
from backend.db import Base, make_engine
from backend.models import register_all

register_all()
config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    url = config.attributes.get("database_url")
    settings = load_settings({**__import__("os").environ, **({"SPASM_DATABASE_URL": url} if url else {})})
    engine = make_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
asyncio.run(run_async())
