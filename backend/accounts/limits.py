"""Abuse limits kept in the database, so that every app process counts the same attempts (ASVS 6.3.1, 2.4.1).

The address is the socket peer only (see sessions.client_address): a client cannot reset a counter by sending a
different X-Forwarded-For.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import RateCounter
from backend.config import Settings
from backend.db import utcnow
from backend.problems import Problem

SIGN_IN_WINDOW = dt.timedelta(minutes=15)
REGISTER_WINDOW = dt.timedelta(hours=1)
# A phone coming back online uploads its whole outbox at once; the limit is far above that and far below abuse.
WRITE_WINDOW = dt.timedelta(minutes=1)


async def sign_in_attempt(db: AsyncSession, settings: Settings, address: str, email: str) -> None:
    await hit(db, f"sign-in:{address}", settings.limit_sign_in_per_address, SIGN_IN_WINDOW)
    await hit(db, f"sign-in:{email.strip().lower()}", settings.limit_sign_in_per_account, SIGN_IN_WINDOW)


async def registration_attempt(db: AsyncSession, settings: Settings, address: str) -> None:
    await hit(db, f"register:{address}", settings.limit_register_per_address, REGISTER_WINDOW)


async def diary_write(db: AsyncSession, settings: Settings, patient_id: object) -> None:
    """Counts one diary write inside the write's own transaction, so it costs no extra commit."""
    await hit(db, f"write:{patient_id}", settings.limit_writes_per_minute, WRITE_WINDOW, commit=False)


async def hit(
    db: AsyncSession, key: str, limit: int, window: dt.timedelta, *, now: dt.datetime | None = None, commit: bool = True
) -> None:
    """Counts one attempt under ``key``; past ``limit`` in the window, answers 429 with Retry-After."""
    now = now or utcnow()
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    seconds = int(window.total_seconds())
    start = epoch + dt.timedelta(seconds=((now - epoch).total_seconds() // seconds) * seconds)
    insert: Any = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateCounter).values(key=key[:200], window_start=start, count=1)
    fresh = RateCounter.window_start < statement.excluded.window_start
    statement = statement.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={
            "count": case((fresh, 1), else_=RateCounter.count + 1),
            "window_start": case((fresh, statement.excluded.window_start), else_=RateCounter.window_start),
        },
    ).returning(RateCounter.count)
    count = (await db.execute(statement)).scalar_one()
    if commit:
        await db.commit()
    if count > limit:
        retry = max(1, math.ceil((start + window - now).total_seconds()))
        raise Problem(
            429,
            f"Too many attempts. Please wait {math.ceil(retry / 60)} minute(s) and try again.",
            code="too-many-requests",
            headers={"Retry-After": str(retry)},
        )
