"""Every cookie the accounts set: the session, the anonymous CSRF cookie, a half-done sign-in, a remembered browser.

All are HttpOnly and SameSite=Lax; over https they are Secure and carry the __Host- prefix, which pins them to this
exact host (ASVS 3.3.1-3.3.4).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from backend.accounts.two_step import CHALLENGE_LIFETIME, REMEMBER_FOR
from backend.config import Settings
from backend.shared.principal import session_cookie_name


def _name(settings: Settings, base: str) -> str:
    return f"__Host-{base}" if settings.secure_cookies else base


def _cookie(settings: Settings, key: str, value: str, max_age: int | None) -> Cookie:
    return Cookie(
        key=key, value=value, path="/", httponly=True, secure=settings.secure_cookies, samesite="lax", max_age=max_age
    )


def session_cookie(settings: Settings, token: str, role: str) -> Cookie:
    minutes = settings.clinician_absolute_minutes if role == "clinician" else settings.patient_absolute_minutes
    return _cookie(settings, session_cookie_name(settings), token, minutes * 60)


def cleared_session_cookie(settings: Settings) -> Cookie:
    return _cookie(settings, session_cookie_name(settings), "", 0)


def challenge_name(settings: Settings) -> str:
    return _name(settings, "spasm_sign_in")


def challenge_cookie(settings: Settings, token: str) -> Cookie:
    return _cookie(settings, challenge_name(settings), token, int(CHALLENGE_LIFETIME.total_seconds()))


def cleared_challenge_cookie(settings: Settings) -> Cookie:
    return _cookie(settings, challenge_name(settings), "", 0)


def device_name(settings: Settings) -> str:
    return _name(settings, "spasm_device")


def device_cookie(settings: Settings, token: str) -> Cookie:
    return _cookie(settings, device_name(settings), token, int(REMEMBER_FOR.total_seconds()))


def challenge_from(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(challenge_name(settings))


def device_from(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(device_name(settings))
