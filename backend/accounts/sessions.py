"""Server-side sessions in the database, shared by every app process, and the CSRF tokens tied to them.

The cookie holds a random token (256 bits); the database holds only its SHA-256. A session ends at the first of: sign
out, the idle limit, the absolute limit, or the account being disabled (ASVS 7.3, 7.4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.accounts.models import TwoStepSecret, User, WebSession
from backend.config import Settings
from backend.db import utcnow
from backend.diary.models import PatientProfile
from backend.shared.principal import Principal

# Writing last_seen on every request would turn each read into a write; a minute's precision is plenty for an idle
# limit counted in minutes or days.
TOUCH_EVERY = dt.timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits(settings: Settings, role: str) -> tuple[dt.timedelta, dt.timedelta]:
    if role == "clinician":
        return dt.timedelta(minutes=settings.clinician_idle_minutes), dt.timedelta(
            minutes=settings.clinician_absolute_minutes
        )
    return dt.timedelta(minutes=settings.patient_idle_minutes), dt.timedelta(minutes=settings.patient_absolute_minutes)


async def start_session(db: AsyncSession, settings: Settings, user: User, *, replacing: str | None = None) -> str:
    """A fresh session for a user who just proved who they are; any session they arrived with is ended (ASVS 7.2.4)."""
    if replacing:
        await db.execute(delete(WebSession).where(WebSession.token_hash == hash_token(replacing)))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    idle, absolute = _limits(settings, user.role)
    db.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=now + idle,
            absolute_expires_at=now + absolute,
        )
    )
    return token


async def end_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


async def end_all_sessions(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(WebSession).where(WebSession.user_id == user_id))


SESSIONS_AND_USERS = (
    select(
        WebSession.token_hash,
        WebSession.last_seen_at,
        WebSession.idle_expires_at,
        WebSession.absolute_expires_at,
        User.id,
        User.role,
        User.display_name,
        User.email,
        User.disabled_at,
        TwoStepSecret.confirmed_at,
        PatientProfile.language,
    )
    .join(User, User.id == WebSession.user_id)
    .outerjoin(TwoStepSecret, TwoStepSecret.user_id == User.id)
    .outerjoin(PatientProfile, PatientProfile.patient_id == User.id)
    .where(WebSession.token_hash.in_(bindparam("hashes", expanding=True)))
)


def resolve_many(
    db: Session | Connection, settings: Settings, tokens: Iterable[str], now: dt.datetime
) -> tuple[dict[str, Principal], bool]:
    """The principals behind several session cookies at once, and whether a session was ended or touched (the caller
    commits). A token missing from the answer is signed out: unknown, expired, or its account disabled.

    Synchronous, so that the grouped episode writer can run it in its own thread; ``resolve`` wraps it."""
    by_hash = {hash_token(t): t for t in tokens if t and len(t) <= 128}
    if not by_hash:
        return {}, False
    rows = db.execute(SESSIONS_AND_USERS, {"hashes": list(by_hash)})
    found: dict[str, Principal] = {}
    ended: list[str] = []
    touched = []
    for row in rows:
        if row.disabled_at is not None or now >= row.idle_expires_at or now >= row.absolute_expires_at:
            ended.append(row.token_hash)
            continue
        if now - row.last_seen_at >= TOUCH_EVERY:
            idle, _ = _limits(settings, row.role)
            touched.append((row.token_hash, min(now + idle, row.absolute_expires_at)))
        token = by_hash[row.token_hash]
        two_step = row.confirmed_at is not None
        found[token] = Principal(row.id, row.role, row.display_name, row.email, token, two_step, row.language)
    if ended:
        db.execute(delete(WebSession).where(WebSession.token_hash.in_(ended)))
    for token_hash, idle_expires_at in touched:
        db.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash)
            .values(last_seen_at=now, idle_expires_at=idle_expires_at)
        )
    return found, bool(ended or touched)


async def resolve(db: AsyncSession, settings: Settings, token: str | None) -> Principal | None:
    """The principal for a session cookie, or None when the session is missing, expired or its account disabled."""
    if not token:
        return None
    found, changed = await db.run_sync(resolve_many, settings, [token], utcnow())
    if changed:
        await db.commit()
    return found.get(token)
