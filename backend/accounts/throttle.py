"""Guessing passwords and codes is slowed down by a growing delay, never by locking the account (ASVS 6.1.1, 6.3.1).

A lock after N wrong passwords lets anyone who knows a clinician's e-mail keep them out. Here failures are counted
per account *and* address: after a few free tries, each further attempt from that address at that account has to
wait, 1 s, then 2, 4, 8... up to 15 minutes, and an attempt made while waiting is refused without even checking the
password (so the waiting gives an attacker nothing). The clinician at their own address is not slowed at all by
someone failing elsewhere; a right password ends the count for its address. Second-step codes are counted per
account alone: whoever tries them already knows the password.

The address limit (limits.py, any account) still bounds how many accounts one address can try.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import SignInThrottle
from backend.db import utcnow
from backend.shared.problems import Problem

FREE_FAILURES = 5
LONGEST_WAIT = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=24)  # a quiet day and the count starts again


def wait_after(failures: int, free: int = FREE_FAILURES) -> dt.timedelta:
    """How long the next attempt waits after this many failures in a row: nothing for the free ones, then doubling."""
    if failures < free:
        return dt.timedelta(0)
    return min(LONGEST_WAIT, dt.timedelta(seconds=2 ** min(failures - free, 20)))


def pair_key(email: str, address: str) -> str:
    return "pair:" + hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()


def code_key(user_id: object) -> str:
    return "code:" + hashlib.sha256(str(user_id).encode()).hexdigest()


def waiting(now: dt.datetime, wait_until: dt.datetime, limit: int = FREE_FAILURES) -> Problem:
    retry = max(1, math.ceil((wait_until - now).total_seconds()))
    return Problem(
        429,
        f"Too many wrong attempts. Please wait {retry} second(s) and try again.",
        code="too-many-requests",
        headers={
            "Retry-After": str(retry),
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(retry),
        },
    )


async def check(db: AsyncSession, key: str, *, now: dt.datetime | None = None) -> None:
    """429 while this key has to wait; nothing otherwise. Called before the password or code is looked at."""
    now = now or utcnow()
    row = await db.get(SignInThrottle, key)
    if row is not None and now < row.wait_until and now - row.last_failure_at < FORGET_AFTER:
        raise waiting(now, row.wait_until)


async def failed(db: AsyncSession, key: str, *, free: int = FREE_FAILURES, now: dt.datetime | None = None) -> None:
    """Counts a failure (the caller commits): one upsert, so that two processes failing the same key at once both
    count, then the wait that follows from the new count."""
    now = now or utcnow()
    insert: Any = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(SignInThrottle).values(key=key, failures=1, last_failure_at=now, wait_until=now)
    stale = SignInThrottle.last_failure_at < now - FORGET_AFTER
    statement = statement.on_conflict_do_update(
        index_elements=[SignInThrottle.key],
        set_={"failures": case((stale, 1), else_=SignInThrottle.failures + 1), "last_failure_at": now},
    ).returning(SignInThrottle.failures)
    failures = int((await db.execute(statement)).scalar_one())
    await db.execute(
        update(SignInThrottle).where(SignInThrottle.key == key).values(wait_until=now + wait_after(failures, free))
    )


async def succeeded(db: AsyncSession, key: str) -> None:
    await db.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
