"""CSRF protection for every state-changing request (ASVS 3.5.1).

The token is an HMAC of the cookie the browser already holds (the session cookie, or before sign-in a random
anonymous cookie), so checking it needs no database and works the same in every process. Pages carry it in a hidden
form field; scripts send it in the X-CSRF-Token header.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from backend.config import Settings
from backend.shared.principal import ANON_CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, session_cookie_name
from backend.shared.problems import Problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token_for(settings: Settings, cookie_value: str) -> str:
    """The CSRF token that goes with a session (or anonymous) cookie: only this server can compute it."""
    return _csrf_token(settings.secret_key, cookie_value)


@functools.lru_cache(maxsize=8192)  # a phone uploading its outbox sends the same cookie again and again
def _csrf_token(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def new_anonymous_token() -> str:
    return secrets.token_urlsafe(24)


def anonymous_cookie(settings: Settings, token: str) -> Cookie:
    """The cookie a form's token is tied to before anyone signs in (HttpOnly, SameSite=Lax, Secure over https)."""
    return Cookie(
        key=ANON_CSRF_COOKIE, value=token, path="/", httponly=True, secure=settings.secure_cookies, samesite="lax"
    )


def cleared_anonymous_cookie() -> Cookie:
    return Cookie(key=ANON_CSRF_COOKIE, value="", path="/", max_age=0)


def expected_token(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    cookie = request.cookies.get(session_cookie_name(settings)) or request.cookies.get(ANON_CSRF_COOKIE)
    return csrf_token_for(settings, cookie) if cookie else None


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    if request.method in SAFE_METHODS:
        return
    settings: Settings = request.app.state.settings
    expected = expected_token(request, settings)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Problem(
            403,
            "This form has expired or did not come from this site. Reload the page and try again.",
            code="csrf-failed",
        )
