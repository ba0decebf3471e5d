"""Abuse limits kept in the database, so that every app process counts the same attempts (ASVS 6.3.1, 2.4.1).

The address is the socket peer only (see sessions.client_address): a client cannot reset a counter by sending a
different X-Forwarded-For.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.config import Settings
from backend.db import Base, UTCDateTime, utcnow
from backend.shared.problems import Problem


class RateCounter(Base):
    """A fixed-window counter shared by every app process (abuse limits must not reset when a request lands on
    another process)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)


SIGN_IN_WINDOW = dt.timedelta(minutes=15)
REGISTER_WINDOW = dt.timedelta(hours=1)
# A phone coming back online uploads its whole outbox at once; the limit is far above that and far below abuse.
WRITE_WINDOW = dt.timedelta(minutes=1)


async def sign_in_attempt(db: AsyncSession, settings: Settings, address: str) -> None:
    """The address's attempts at any account; each account at each address also has its own growing delay
    (throttle.py), which is what stops password guessing without letting anyone lock an account."""
    await hit(db, f"sign-in:{address}", settings.limit_sign_in_per_address, SIGN_IN_WINDOW)


async def registration_attempt(db: AsyncSession, settings: Settings, address: str) -> None:
    await hit(db, f"register:{address}", settings.limit_register_per_address, REGISTER_WINDOW)


async def diary_write(db: AsyncSession, settings: Settings, patient_id: object) -> None:
    """Counts one diary write inside the write's own transaction, so it costs no extra commit."""
    await hit(db, f"write:{patient_id}", settings.limit_writes_per_minute, WRITE_WINDOW, commit=False)


def window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    seconds = int(window.total_seconds())
    return epoch + dt.timedelta(seconds=((now - epoch).total_seconds() // seconds) * seconds)


@functools.cache
def _counter_statements(dialect: str) -> tuple[Any, Any]:
    """The upsert that adds attempts to a counter (restarting it in a new window), and the same answering the total."""
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(RateCounter)
    fresh = RateCounter.window_start < statement.excluded.window_start
    statement = statement.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={
            "count": case((fresh, statement.excluded.count), else_=RateCounter.count + statement.excluded.count),
            "window_start": case((fresh, statement.excluded.window_start), else_=RateCounter.window_start),
        },
    )
    return statement, statement.returning(RateCounter.key, RateCounter.count)


_READ = select(RateCounter.key, RateCounter.count, RateCounter.window_start).where(
    RateCounter.key.in_(bindparam("keys", expanding=True))
)


def _rows(attempts: Mapping[str, int], start: dt.datetime) -> list[dict[str, Any]]:
    counted: dict[str, int] = {}
    for key, n in attempts.items():
        counted[key[:200]] = counted.get(key[:200], 0) + n
    # One order for every process: no deadlock between two batches.
    return [{"key": key, "window_start": start, "count": counted[key]} for key in sorted(counted)]


def _dialect(db: Session | Connection) -> str:
    return (db.get_bind() if isinstance(db, Session) else db).dialect.name


def add(db: Session | Connection, attempts: Mapping[str, int], window: dt.timedelta, now: dt.datetime) -> None:
    """Adds each key's attempts to its counter, in one statement whose text is the same for every batch (compiled
    once). The grouped episode writer adds the writes it made, having read the counts first (``current``)."""
    statement, _ = _counter_statements(_dialect(db))
    db.execute(statement, _rows(attempts, window_start(now, window)))


def _count_one(db: Session | Connection, key: str, window: dt.timedelta, now: dt.datetime) -> int:
    """Adds one attempt under ``key`` and answers its total in the current window (one statement with RETURNING)."""
    row = _rows({key: 1}, window_start(now, window))[0]
    return int(db.execute(_counter_statements(_dialect(db))[1], row).one()[1])


def current(db: Session | Connection, keys: list[str], window: dt.timedelta, now: dt.datetime) -> dict[str, int]:
    """The attempts counted under each key in the current window, without counting one (a key not there has 0).

    The grouped episode writer reads these first, decides which writes are within their limit, then adds those with
    ``add``. Across processes the read may be a moment old; the limit is against abuse, not an exact quota."""
    start = window_start(now, window)
    found = db.execute(_READ, {"keys": [k[:200] for k in keys]})
    return {key: total for key, total, since in found.all() if since >= start}


@dataclass(frozen=True)
class Quota:
    """What a limited request leaves of its limit, for the RateLimit-* headers (IETF httpapi ratelimit-headers)."""

    limit: int
    remaining: int
    reset: int  # seconds until the window starts again

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


# The tightest quota counted while answering the current request: the app adds its headers to the answer. Each
# request runs in a context of its own (the app resets this at the start of every request).
current_quota: contextvars.ContextVar[Quota | None] = contextvars.ContextVar("current_quota", default=None)


def _seconds_left(now: dt.datetime, window: dt.timedelta) -> int:
    return max(1, math.ceil((window_start(now, window) + window - now).total_seconds()))


def too_many(now: dt.datetime, window: dt.timedelta, limit: int | None = None) -> Problem:
    retry = _seconds_left(now, window)
    headers = {"Retry-After": str(retry), "RateLimit-Remaining": "0", "RateLimit-Reset": str(retry)}
    if limit is not None:
        headers["RateLimit-Limit"] = str(limit)
    return Problem(
        429,
        f"Too many attempts. Please wait {math.ceil(retry / 60)} minute(s) and try again.",
        code="too-many-requests",
        headers=headers,
    )


async def hit(
    db: AsyncSession, key: str, limit: int, window: dt.timedelta, *, now: dt.datetime | None = None, commit: bool = True
) -> None:
    """Counts one attempt under ``key``; past ``limit`` in the window, answers 429 with Retry-After."""
    now = now or utcnow()
    total = await db.run_sync(_count_one, key, window, now)
    if commit:
        await db.commit()
    if total > limit:
        raise too_many(now, window, limit)
    quota = Quota(limit, max(0, limit - total), _seconds_left(now, window))
    known = current_quota.get()
    if known is None or quota.remaining < known.remaining:
        current_quota.set(quota)
