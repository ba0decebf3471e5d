"""The database: declarative base, column types that behave the same on SQLite and PostgreSQL, and the engine.

SQLite is the embedded default and PostgreSQL the production database; everything here keeps them interchangeable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import DateTime, Insert, MetaData, Table, TypeDecorator, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from backend.config import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant, always stored as UTC and always read back time-zone aware.

    SQLite has no time-zone type: a plain ``DateTime(timezone=True)`` hands back naive values there, which would make
    every comparison with an aware ``now()`` fail. Offsets the patient saw are kept in separate columns.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while the one writer commits; synchronous=FULL makes each acknowledged commit survive a
    # power cut (with NORMAL a committed WAL transaction can roll back, and the phone would already have dropped its
    # copy). busy_timeout stops a second process from failing at once on a locked database.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# JSON columns (body sites, triggers, treatments...) through msgspec: several times faster than the json module, which
# matters when a batch of episodes is written at once. The stored text is ordinary compact JSON.
JSON_CODEC = {"json_serializer": _json, "json_deserializer": msgspec.json.decode}


def make_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has a single writer anyway, and queueing inside the pool is far cheaper than
        # several connections fighting over the file lock (p99 ~0.8 s with a pool of 5, ~70 ms with one).
        engine = create_async_engine(
            settings.database_url,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=30,
            hide_parameters=True,  # an error in the log must not carry a note or a name from the statement
            **JSON_CODEC,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        hide_parameters=True,
        **JSON_CODEC,
    )


def make_sqlite_writer_engine(settings: Settings) -> Engine:
    """A synchronous connection to the SQLite file for the grouped episode writer, which runs each batch in a thread of
    its own: a whole batch then costs one hand-over between threads instead of one per statement. The same pragmas as
    the async engine (WAL, synchronous=FULL, busy_timeout), and one connection."""
    url = make_url(settings.database_url).set(drivername="sqlite")
    engine = create_engine(
        url, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=30, hide_parameters=True, **JSON_CODEC
    )
    event.listen(engine, "connect", _writer_connection)
    # Each batch takes the write lock as it begins, so that what it reads (sessions, stored episodes, counters) cannot
    # change under it, rather than relying on the driver starting the transaction only at the first write.
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _writer_connection(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver starts no transaction of its own: "begin" above does
    _sqlite_pragmas(dbapi_connection, record)


_PLANS: dict[tuple[Insert, str, tuple[str, ...]], tuple[str, list[tuple[str, Any]]]] = {}


def insert_many(conn: Connection, statement: Insert, table: Table, rows: list[dict[str, Any]]) -> None:
    """Runs an INSERT for many rows through the driver's executemany, converting each value with the column type's
    own bind processor: what ``conn.execute(statement, rows)`` does, without its per-row bookkeeping, which is most of
    the cost of writing a batch of episodes. ``statement`` must be built once (module level), as the plan is cached
    by its identity; every row must have the same keys, and name every column it fills (Python-side column defaults
    are not applied here)."""
    dialect = conn.dialect
    key = (statement, dialect.name, tuple(rows[0]))  # the key holds the statement: its identity stays its own
    plan = _PLANS.get(key)
    if plan is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
        names = list(compiled.positiontup or ())
        types = {name: table.c[name].type.dialect_impl(dialect) for name in names}
        plan = (compiled.string, [(name, types[name].bind_processor(dialect)) for name in names])
        _PLANS[key] = plan
    sql, columns = plan
    conn.exec_driver_sql(sql, [tuple(p(row[n]) if p else row[n] for n, p in columns) for row in rows])


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
