"""Accounts over JSON: /api/v1/auth/... (the browser pages in backend/web use the same services)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import limits, services
from backend.accounts.csrf import expected_token
from backend.accounts.models import User
from backend.accounts.schemas import RegisterIn, SessionOut, SignInIn, UserOut
from backend.accounts.sessions import (
    ANON_CSRF_COOKIE,
    Principal,
    client_address,
    csrf_token_for,
    end_session,
    new_anonymous_token,
    resolve,
    session_cookie_name,
    session_token_from,
    start_session,
)
from backend.care.audit import audit_event
from backend.config import Settings
from backend.problems import Problem

NO_STORE = {"Cache-Control": "no-store"}


def session_cookie(settings: Settings, token: str, role: str) -> Cookie:
    minutes = settings.clinician_absolute_minutes if role == "clinician" else settings.patient_absolute_minutes
    return Cookie(
        key=session_cookie_name(settings), value=token, path="/", httponly=True, secure=settings.secure_cookies,
        samesite="lax", max_age=minutes * 60,
    )  # fmt: skip


def cleared_session_cookie(settings: Settings) -> Cookie:
    return Cookie(key=session_cookie_name(settings), value="", path="/", httponly=True,
                  secure=settings.secure_cookies, samesite="lax", max_age=0)  # fmt: skip


def anonymous_cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(key=ANON_CSRF_COOKIE, value=token, path="/", httponly=True, secure=settings.secure_cookies,
                  samesite="lax")  # fmt: skip


def user_out(user: User | Principal) -> UserOut:
    user_id = user.id if isinstance(user, User) else user.user_id
    return UserOut(id=user_id, email=user.email, display_name=user.display_name, role=user.role)


async def sign_in_user(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, user: User) -> str:
    token = await start_session(db, settings, user, replacing=session_token_from(request, settings))
    db.add(
        audit_event(None, "auth.sign-in", patient_id=None, entity=f"user:{user.id}", address=client_address(request))
    )
    await db.commit()
    return token


@get("/api/v1/auth/session", tags=["auth"], summary="Who is signed in, and the CSRF token for state-changing calls")
async def get_session(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[SessionOut]:
    principal = await resolve(db, settings, session_token_from(request, settings))
    cookies: list[Cookie] = []
    token = expected_token(request, settings) if principal else None
    if principal is None:
        if session_token_from(request, settings):
            # The session ended on the server (expired, signed out elsewhere): forget the cookie, or the CSRF token
            # would keep being derived from it and the next sign-in would be refused.
            cookies.append(cleared_session_cookie(settings))
        anon = request.cookies.get(ANON_CSRF_COOKIE)
        if not anon:
            anon = new_anonymous_token()
            cookies.append(anonymous_cookie(settings, anon))
        token = csrf_token_for(settings, anon)
    assert token is not None
    body = SessionOut(user=user_out(principal) if principal else None, csrf_token=token)
    return Response(body, headers=NO_STORE, cookies=cookies)


@post("/api/v1/auth/register", tags=["auth"], status_code=201, summary="Create an account and sign in")
async def register(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: RegisterIn
) -> Response[SessionOut]:
    await limits.registration_attempt(db, settings, client_address(request))
    user = await services.register(db, data)
    token = await sign_in_user(request, db, settings, user)
    body = SessionOut(user=user_out(user), csrf_token=csrf_token_for(settings, token))
    return Response(body, status_code=201, headers=NO_STORE, cookies=[session_cookie(settings, token, user.role)])


@post("/api/v1/auth/sign-in", tags=["auth"], status_code=200, summary="Sign in with e-mail and password")
async def sign_in(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: SignInIn
) -> Response[SessionOut]:
    await limits.sign_in_attempt(db, settings, client_address(request), data.email)
    user = await services.authenticate(db, data.email, data.password)
    if user is None:
        db.add(audit_event(None, "auth.sign-in", patient_id=None, outcome="failure", address=client_address(request)))
        await db.commit()
        raise Problem(401, "That e-mail and password do not match an account.", code="bad-credentials")
    token = await sign_in_user(request, db, settings, user)
    body = SessionOut(user=user_out(user), csrf_token=csrf_token_for(settings, token))
    return Response(body, headers=NO_STORE, cookies=[session_cookie(settings, token, user.role)])


@post("/api/v1/auth/sign-out", tags=["auth"], status_code=204, summary="End this session")
async def sign_out(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[None]:
    token = session_token_from(request, settings)
    if token:
        await end_session(db, token)
        await db.commit()
    return Response(None, status_code=204, headers=NO_STORE, cookies=[cleared_session_cookie(settings)])


ACCOUNT_ROUTES = [get_session, register, sign_in, sign_out]
