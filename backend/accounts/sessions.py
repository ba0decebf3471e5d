"""Server-side sessions in the database, shared by every app process, and the CSRF tokens tied to them.

The cookie holds a random token (256 bits); the database holds only its SHA-256. A session ends at the first of: sign
out, the idle limit, the absolute limit, or the account being disabled (ASVS 7.3, 7.4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User, WebSession
from backend.config import Settings
from backend.db import utcnow

ANON_CSRF_COOKIE = "spasm_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"
# Writing last_seen on every request would turn each read into a write; a minute's precision is plenty for an idle
# limit counted in minutes or days.
TOUCH_EVERY = dt.timedelta(seconds=60)


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix pins the cookie to this exact host over https (ASVS 3.3.1/3.3.3); browsers refuse it on http.
    return "__Host-spasm_session" if settings.secure_cookies else "spasm_session"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(settings: Settings, cookie_value: str) -> str:
    """The CSRF token that goes with a session (or anonymous) cookie: only this server can compute it."""
    return hmac.new(settings.secret_key.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The person behind a request."""

    user_id: uuid.UUID
    role: str
    display_name: str
    email: str
    session_token: str

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"


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


async def resolve(db: AsyncSession, settings: Settings, token: str | None) -> Principal | None:
    """The principal for a session cookie, or None when the session is missing, expired or its account disabled."""
    if not token or len(token) > 128:
        return None
    token_hash = hash_token(token)
    row = (
        await db.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    session, user = row
    now = utcnow()
    if user.disabled_at is not None or now >= session.idle_expires_at or now >= session.absolute_expires_at:
        await db.execute(delete(WebSession).where(WebSession.token_hash == token_hash))
        await db.commit()
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        idle, _ = _limits(settings, user.role)
        await db.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash)
            .values(last_seen_at=now, idle_expires_at=min(now + idle, session.absolute_expires_at))
        )
        await db.commit()
    return Principal(user.id, user.role, user.display_name, user.email, token)


def session_token_from(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(session_cookie_name(settings))


def client_address(request: Request[Any, Any, Any]) -> str:
    # Only the socket peer: X-Forwarded-For is set by whoever sends the request. Behind a proxy, run the server with
    # its proxy-headers option limited to the proxy's address so that this becomes the real client.
    return request.client.host if request.client else "unknown"


def new_anonymous_token() -> str:
    return secrets.token_urlsafe(24)
