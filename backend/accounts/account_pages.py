"""A signed-in person's account in the browser, without script: a patient's data and settings page (language, time
zone, conditions; erasing the account), changing the password (everyone) and two-step sign-in (clinicians). The same
services as the JSON API in api.py; the settings form is the profile's own write, with If-Match from its version.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import credentials, services, two_step
from backend.accounts.cookies import cleared_session_cookie, session_cookie
from backend.accounts.pages import Form, messages
from backend.config import Settings
from backend.diary import catalog, records
from backend.diary.dependencies import TheWrites
from backend.diary.display import options
from backend.diary.models import PatientProfile
from backend.diary.schemas import ProfileIn
from backend.diary.services import profile_row
from backend.shared import forms
from backend.shared.caller import client_address
from backend.shared.csrf import cleared_anonymous_cookie
from backend.shared.dependencies import SETTING_UP, provide_clinician, provide_patient
from backend.shared.i18n import N_, best_language, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

CLINICIAN = {"clinician": Provide(provide_clinician)}
PATIENT = {"patient": Provide(provide_patient)}
SETTINGS_FIELDS = {"time_zone": N_("Time zone"), "conditions": N_("My conditions"), "language": N_("Language")}
SETTINGS_SENTENCES = {("time_zone", "*"): N_("That time zone is unknown. Use a name such as Europe/Madrid.")}
STALE_PROFILE = N_(
    "Your settings were changed somewhere else meanwhile. Your choices are shown; save again to keep them."
)
# What the services answer in the cases these pages meet, so that a Spanish page says it in Spanish.
PROBLEM_DETAILS = (N_("That password is not right. Nothing was erased."), N_('Type "erase my account" to confirm.'))
CHANGED = N_("Your password was changed. Every other device where you were signed in has been signed out.")


async def _language(request: Request[Any, Any, Any], db: AsyncSession, me: Principal) -> str:
    profile = await db.get(PatientProfile, me.user_id) if me.is_patient else None
    return profile.language if profile else best_language(request.headers.get("accept-language"))


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _page(request: Request[Any, Any, Any], settings: Settings, name: str, **context: Any) -> Template:
    return page(request, settings, name, **context)


@get("/account/security", include_in_schema=False, opt=SETTING_UP)
async def security_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal
) -> Template:
    status = await two_step.status(db, settings, principal) if principal.is_clinician else None
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
    state = await two_step.status(db, settings, me)
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


# ---- the patient's data and settings ----------------------------------------------------------------------------


async def _account_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    profile = await profile_row(db, me.user_id)
    lang = profile.language
    return _page(
        request,
        settings,
        "patient/account.html",
        status=status,
        language=lang,
        me=me,
        profile=extra.pop("profile", profile),
        languages=[("en", "English"), ("es", "Español")],
        conditions=options(lang, catalog.CONDITIONS),
        **extra,
    )


@get("/account", include_in_schema=False, dependencies=PATIENT)
async def account_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    return await _account_page(request, db, settings, patient)


@post("/account/settings", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def account_settings_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, writes: TheWrites, patient: Principal
) -> Template:
    """Language, time zone and conditions: the profile's own write (If-Match from the form's version, audited with
    the caller's address), the rest of the profile kept as it is."""
    form = await request.form()
    profile = await profile_row(db, patient.user_id)
    stored = msgspec.to_builtins(records.profile_out(profile))
    values = {
        **{f: stored[f] for f in ProfileIn.__struct_fields__ if f in stored},
        "language": forms.text(form, "language") or profile.language,
        "time_zone": forms.text(form, "time_zone") or "",
        "conditions": forms.codes(form, "conditions", catalog.CONDITIONS),
    }
    try:
        data = forms.decode(values, ProfileIn)
        await writes.profile(db, patient, data, forms.version(form), address=client_address(request))
    except Problem as problem:
        await db.rollback()
        current = await profile_row(db, patient.user_id)
        lang = current.language
        typed = {**values, "version": forms.version(form)}
        if problem.status_code in (412, 428):  # saved elsewhere meanwhile (another tab, the app): theirs is shown
            errors = [translate(lang, STALE_PROFILE)]
            theirs = {**typed, "version": current.version}
            return await _account_page(request, db, settings, patient, status=409, errors=errors, profile=theirs)
        errors = forms.messages(problem, lang, SETTINGS_FIELDS, SETTINGS_SENTENCES)
        return await _account_page(
            request, db, settings, patient, status=problem.status_code, errors=errors, profile=typed
        )
    lang = (await profile_row(db, patient.user_id)).language
    return await _account_page(request, db, settings, patient, message=translate(lang, "Settings saved."))


@post("/account/erase", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def account_erase_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Response[Any]:
    form = await request.form()
    profile = await profile_row(db, patient.user_id)
    confirm = (forms.text(form, "confirm") or "").lower()
    if confirm == translate(profile.language, "erase my account").lower():
        confirm = "erase my account"
    try:
        password = str(form.get("password") or "")[: forms.FIELD_CAP]
        await services.erase(db, patient, password, confirm, address=client_address(request))
    except Problem as problem:
        await db.rollback()
        lang = (await profile_row(db, patient.user_id)).language
        errors = forms.messages(problem, lang, {})
        return await _account_page(request, db, settings, patient, status=problem.status_code, errors=errors)
    cookies = [cleared_session_cookie(settings), cleared_anonymous_cookie()]
    headers = {"Clear-Site-Data": '"cache", "cookies", "storage"'}
    return Redirect("/sign-in?erased=1", status_code=303, cookies=cookies, headers=headers)


ROUTES: list[Any] = [
    security_page,
    password_page,
    password_form,
    two_step_page,
    two_step_form,
    account_page,
    account_settings_form,
    account_erase_form,
]
