"""A signed-in person's sign-in settings in the browser, without script: changing the password (everyone) and
two-step sign-in (clinicians). The same services as the JSON API in account_routes.py.
"""

from __future__ import annotations

import base64
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import credentials, two_step
from backend.accounts.account_routes import SETTING_UP, two_step_status
from backend.accounts.cookies import session_cookie
from backend.accounts.pages import Form, messages
from backend.config import Settings
from backend.diary.models import PatientProfile
from backend.shared.dependencies import provide_clinician
from backend.shared.i18n import N_, best_language, translate
from backend.shared.principal import Principal, client_address
from backend.shared.problems import Problem

CLINICIAN = {"clinician": Provide(provide_clinician)}
CHANGED = N_("Your password was changed. Every other device where you were signed in has been signed out.")


async def _language(request: Request[Any, Any, Any], db: AsyncSession, me: Principal) -> str:
    profile = await db.get(PatientProfile, me.user_id) if me.is_patient else None
    return profile.language if profile else best_language(request.headers.get("accept-language"))


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _page(request: Request[Any, Any, Any], settings: Settings, name: str, **context: Any) -> Template:
    from backend.shared.rendering import page

    return page(request, settings, name, **context)


@get("/account/security", include_in_schema=False, opt=SETTING_UP)
async def security_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal
) -> Template:
    status = await two_step_status(db, settings, principal) if principal.is_clinician else None
    language = await _language(request, db, principal)
    return _page(request, settings, "account/security.html", language=language, me=principal, two_step=status)


@get("/account/password", include_in_schema=False, opt=SETTING_UP)
async def password_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal
) -> Template:
    language = await _language(request, db, principal)
    changed = request.query_params.get("changed") == "1"
    message = translate(language, CHANGED) if changed else None
    return _page(request, settings, "account/password.html", language=language, me=principal, message=message)


@post("/account/password", include_in_schema=False, status_code=303, opt=SETTING_UP)
async def password_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    principal: Principal,
    data: dict[str, str] = Form,
) -> Response[Any]:
    language = await _language(request, db, principal)
    try:
        token = await credentials.change_password(
            db,
            settings,
            principal.user_id,
            current=data.get("current_password", "")[:4096],
            new=data.get("new_password", "")[:4096],
            address=client_address(request),
        )
    except Problem as problem:
        await db.rollback()
        return _page(
            request,
            settings,
            "account/password.html",
            status=problem.status_code,
            language=language,
            me=principal,
            errors=messages(problem, language),
        )
    # A fresh page on the new session: the forms' CSRF tokens belong to it.
    return Redirect(
        "/account/password?changed=1", status_code=303, cookies=[session_cookie(settings, token, principal.role)]
    )


# ---- two-step sign-in (clinicians) ----------------------------------------------------------------------------------


async def _two_step_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    state = await two_step_status(db, settings, me)
    pending = None if state.enabled else await two_step.pending_secret(db, settings, me.user_id)
    setup = None
    if pending:
        uri = two_step.provisioning_uri(pending, me.email)
        setup = {
            "secret": " ".join(pending[i : i + 4] for i in range(0, len(pending), 4)),
            "qr": _data_uri(two_step.qr_svg(uri)),
        }
    return _page(
        request,
        settings,
        "account/two_step.html",
        status=status,
        me=me,
        state=state,
        setup=setup,
        must=settings.two_step_required and not state.enabled,
        **extra,
    )


@get("/account/two-step", include_in_schema=False, dependencies=CLINICIAN, opt=SETTING_UP)
async def two_step_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal
) -> Template:
    return await _two_step_page(request, db, settings, clinician)


@post(
    "/account/two-step/{action:str}", include_in_schema=False, status_code=200, dependencies=CLINICIAN, opt=SETTING_UP
)
async def two_step_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    action: str,
    data: dict[str, str] = Form,
) -> Response[Any]:
    """begin (a new secret, after the password), confirm (the first code: then the recovery codes, shown once),
    recovery-codes (new ones, after the password), off (where two-step sign-in is optional)."""
    password, me = data.get("password", "")[:4096], clinician
    try:
        if action == "begin":
            await credentials.require_password(db, me.user_id, password)
            await two_step.begin(db, settings, me.user_id)
            await db.commit()
            return await _two_step_page(request, db, settings, me)
        if action == "confirm":
            codes = await credentials.confirm_two_step(db, settings, me.user_id, data.get("code", "")[:32])
            return await _two_step_page(request, db, settings, me, codes=codes, turned_on=True)
        if action == "recovery-codes":
            codes = await credentials.renew_recovery_codes(db, me.user_id, password)
            return await _two_step_page(request, db, settings, me, codes=codes)
        if action == "off":
            await credentials.turn_off_two_step(db, settings, me.user_id, password)
            return await _two_step_page(request, db, settings, me, turned_off=True)
    except Problem as problem:
        await db.rollback()
        return await _two_step_page(
            request, db, settings, me, status=problem.status_code, errors=messages(problem, "en")
        )
    raise Problem(404, "Nothing lives at this address.", code="not-found")


ACCOUNT_PAGE_ROUTES: list[Any] = [security_page, password_page, password_form, two_step_page, two_step_form]
