"""Accounts over JSON: /api/v1/auth/... (the pages in pages.py call the same services)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.datastructures import Cookie
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import credentials, services, two_step
from backend.accounts.answers import later, user_out
from backend.accounts.cookies import (
    challenge_cookie,
    challenge_from,
    cleared_challenge_cookie,
    cleared_session_cookie,
    device_cookie,
    device_from,
    session_cookie,
)
from backend.accounts.schemas import (
    CodeIn,
    EraseIn,
    PasswordChangeIn,
    PasswordIn,
    RecoveryCodesOut,
    RegisterIn,
    ResetIn,
    ResetRequested,
    ResetRequestIn,
    SessionOut,
    SignInIn,
    TwoStepOut,
    TwoStepSetupOut,
    UserOut,
)
from backend.accounts.sessions import end_session, resolve
from backend.config import Settings
from backend.shared.caller import client_address, session_token_from
from backend.shared.csrf import (
    anonymous_cookie,
    cleared_anonymous_cookie,
    csrf_token_for,
    expected_token,
    new_anonymous_token,
)
from backend.shared.dependencies import SETTING_UP, provide_clinician
from backend.shared.principal import ANON_CSRF_COOKIE, Principal

NO_STORE = {"Cache-Control": "no-store"}


def signed_in_answer(
    request: Request[Any, Any, Any], settings: Settings, done: services.SignedIn
) -> Response[SessionOut]:
    """A finished sign-in (200, the session cookie) or one waiting for its second step (202, the challenge cookie;
    the CSRF token stays the anonymous one)."""
    if done.session is None:
        assert done.challenge is not None
        body = SessionOut(user=None, csrf_token=expected_token(request, settings) or "", second_step="code")
        return Response(body, status_code=202, headers=NO_STORE, cookies=[challenge_cookie(settings, done.challenge)])
    cookies = [session_cookie(settings, done.session, done.user.role), cleared_challenge_cookie(settings)]
    if done.device:
        cookies.append(device_cookie(settings, done.device))
    body = SessionOut(user=user_out(done.user), csrf_token=csrf_token_for(settings, done.session))
    return Response(body, status_code=200, headers=NO_STORE, cookies=cookies)


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
    """An address that already has an account gets the same answer (its owner is told by e-mail instead)."""
    done = await services.register(
        db, settings, data, address=client_address(request), replacing=session_token_from(request, settings)
    )
    user = UserOut(id=done.user_id, email=done.email, display_name=done.display_name, role=done.role)
    body = SessionOut(user=user, csrf_token=csrf_token_for(settings, done.session))
    cookies = [session_cookie(settings, done.session, done.role)]
    return Response(body, status_code=201, headers=NO_STORE, cookies=cookies, background=later(done.mail, settings))


@post(
    "/api/v1/auth/sign-in",
    tags=["auth"],
    status_code=200,
    summary="Sign in with e-mail and password (202 when a second-step code is needed)",
)
async def sign_in(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: SignInIn
) -> Response[SessionOut]:
    done = await services.sign_in(
        db,
        settings,
        email=data.email,
        password=data.password,
        address=client_address(request),
        replacing=session_token_from(request, settings),
        device=device_from(request, settings),
    )
    return signed_in_answer(request, settings, done)


@post(
    "/api/v1/auth/sign-in/code",
    tags=["auth"],
    status_code=200,
    summary="The second step: a code from the authenticator app, or a recovery code",
)
async def sign_in_code(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: CodeIn
) -> Response[SessionOut]:
    done = await services.second_step(
        db,
        settings,
        challenge=challenge_from(request, settings),
        code=data.code,
        remember=data.remember_device,
        address=client_address(request),
        replacing=session_token_from(request, settings),
    )
    return signed_in_answer(request, settings, done)


@post("/api/v1/auth/sign-out", tags=["auth"], status_code=204, summary="End this session")
async def sign_out(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[None]:
    token = session_token_from(request, settings)
    if token:
        await end_session(db, token)
        await db.commit()
    return Response(None, status_code=204, headers=NO_STORE, cookies=[cleared_session_cookie(settings)])


@post(
    "/api/v1/auth/password-reset",
    tags=["auth"],
    status_code=202,
    summary="E-mail a link to set a new password (the same answer whether or not the account exists)",
)
async def request_reset(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: ResetRequestIn
) -> Response[ResetRequested]:
    message = await credentials.request_reset(db, settings, data.email, address=client_address(request))
    body = ResetRequested(status="If an account has this address, a link to set a new password is on its way.")
    return Response(body, status_code=202, headers=NO_STORE, background=later(message, settings))


@post(
    "/api/v1/auth/password-reset/complete",
    tags=["auth"],
    status_code=200,
    summary="Set a new password with the link's token; every session ends, and this browser is signed in",
)
async def complete_reset(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: ResetIn
) -> Response[SessionOut]:
    done = await credentials.complete_reset(
        db, settings, data.token, data.new_password, address=client_address(request)
    )
    return signed_in_answer(request, settings, done)


CLINICIAN = {"clinician": Provide(provide_clinician)}


@put(
    "/api/v1/account/password",
    tags=["account"],
    summary="Change my password (every other session ends)",
    opt=SETTING_UP,
)
async def change_password(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal, data: PasswordChangeIn
) -> Response[SessionOut]:
    token = await credentials.change_password(
        db,
        settings,
        principal.user_id,
        current=data.current_password,
        new=data.new_password,
        address=client_address(request),
    )
    body = SessionOut(user=user_out(principal), csrf_token=csrf_token_for(settings, token))
    return Response(body, headers=NO_STORE, cookies=[session_cookie(settings, token, principal.role)])


@get(
    "/api/v1/account/two-step",
    tags=["account"],
    summary="Whether my two-step sign-in is on",
    dependencies=CLINICIAN,
    opt=SETTING_UP,
)
async def get_two_step(db: AsyncSession, settings: Settings, clinician: Principal) -> Response[TwoStepOut]:
    return Response(await two_step.status(db, settings, clinician), headers=NO_STORE)


@post(
    "/api/v1/account/two-step",
    tags=["account"],
    status_code=201,
    dependencies=CLINICIAN,
    opt=SETTING_UP,
    summary="Start setting up two-step sign-in: a new secret for the authenticator app (confirm it with a code)",
)
async def begin_two_step(
    db: AsyncSession, settings: Settings, clinician: Principal, data: PasswordIn
) -> Response[TwoStepSetupOut]:
    await credentials.require_password(db, clinician.user_id, data.password)
    secret = await two_step.begin(db, settings, clinician.user_id)
    await db.commit()
    uri = two_step.provisioning_uri(secret, clinician.email)
    return Response(
        TwoStepSetupOut(secret=secret, otpauth_uri=uri, qr_svg=two_step.qr_svg(uri)), status_code=201, headers=NO_STORE
    )


@post(
    "/api/v1/account/two-step/confirm",
    tags=["account"],
    status_code=200,
    dependencies=CLINICIAN,
    opt=SETTING_UP,
    summary="Turn two-step sign-in on with a first code; answers the recovery codes, once",
)
async def confirm_two_step(
    db: AsyncSession, settings: Settings, clinician: Principal, data: CodeIn
) -> Response[RecoveryCodesOut]:
    codes = await credentials.confirm_two_step(db, settings, clinician.user_id, data.code)
    return Response(RecoveryCodesOut(recovery_codes=codes), headers=NO_STORE)


@post(
    "/api/v1/account/two-step/recovery-codes",
    tags=["account"],
    status_code=200,
    dependencies=CLINICIAN,
    summary="New recovery codes (the old ones stop working)",
)
async def new_recovery_codes(
    db: AsyncSession, settings: Settings, clinician: Principal, data: PasswordIn
) -> Response[RecoveryCodesOut]:
    codes = await credentials.renew_recovery_codes(db, clinician.user_id, data.password)
    return Response(RecoveryCodesOut(recovery_codes=codes), headers=NO_STORE)


@delete(
    "/api/v1/account/two-step",
    tags=["account"],
    status_code=204,
    dependencies=CLINICIAN,
    summary="Turn two-step sign-in off (not where it is required)",
)
async def turn_off_two_step(
    db: AsyncSession, settings: Settings, clinician: Principal, data: PasswordIn
) -> Response[None]:
    await credentials.turn_off_two_step(db, settings, clinician.user_id, data.password)
    return Response(None, status_code=204, headers=NO_STORE)


@delete("/api/v1/account", tags=["data rights"], status_code=204, summary="Erase my account and everything in it")
async def erase_account(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal, data: EraseIn
) -> Response[None]:
    await services.erase(db, principal, data.password, data.confirm, address=client_address(request))
    cookies = [cleared_session_cookie(settings), cleared_anonymous_cookie()]
    headers = {"Clear-Site-Data": '"cache", "cookies", "storage"'}
    return Response(None, status_code=204, cookies=cookies, headers=headers)


ROUTES: list[Any] = [
    get_session,
    register,
    sign_in,
    sign_in_code,
    sign_out,
    request_reset,
    complete_reset,
    erase_account,
    change_password,
    get_two_step,
    begin_two_step,
    confirm_two_step,
    new_recovery_codes,
    turn_off_two_step,
]
