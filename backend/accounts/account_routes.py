"""A signed-in person's own sign-in settings over JSON: /api/v1/account/password and /api/v1/account/two-step.

Changing them asks for the current password again (ASVS 7.5.1): a session left open on a shared computer must not be
enough to take the account over. The pages in account_pages.py call the same functions.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import credentials, two_step
from backend.accounts.cookies import session_cookie
from backend.accounts.routes import NO_STORE, user_out
from backend.accounts.schemas import (
    CodeIn,
    PasswordChangeIn,
    PasswordIn,
    RecoveryCodesOut,
    SessionOut,
    TwoStepOut,
    TwoStepSetupOut,
)
from backend.config import Settings
from backend.shared.csrf import csrf_token_for
from backend.shared.dependencies import TWO_STEP_SET_UP, provide_clinician
from backend.shared.principal import Principal, client_address

CLINICIAN = {"clinician": Provide(provide_clinician)}
# A clinician who still has to set up two-step sign-in may use these (dependencies.authenticate).
SETTING_UP = {TWO_STEP_SET_UP: True}


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


async def two_step_status(db: AsyncSession, settings: Settings, clinician: Principal) -> TwoStepOut:
    return TwoStepOut(
        enabled=await two_step.is_on(db, clinician.user_id),
        required=settings.two_step_required,
        recovery_codes_left=await two_step.recovery_codes_left(db, clinician.user_id),
    )


@get(
    "/api/v1/account/two-step",
    tags=["account"],
    summary="Whether my two-step sign-in is on",
    dependencies=CLINICIAN,
    opt=SETTING_UP,
)
async def get_two_step(db: AsyncSession, settings: Settings, clinician: Principal) -> Response[TwoStepOut]:
    return Response(await two_step_status(db, settings, clinician), headers=NO_STORE)


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


ACCOUNT_SECURITY_ROUTES: list[Any] = [
    change_password,
    get_two_step,
    begin_two_step,
    confirm_two_step,
    new_recovery_codes,
    turn_off_two_step,
]
