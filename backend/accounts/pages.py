"""Signing in and out in the browser, without script: the password, a clinician's second step, registering, and a
forgotten password (the link by e-mail, then the new password). Plain HTML forms over the same services as the API.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import credentials, services
from backend.accounts.answers import later
from backend.accounts.cookies import (
    challenge_cookie,
    challenge_from,
    cleared_challenge_cookie,
    cleared_session_cookie,
    device_cookie,
    device_from,
    session_cookie,
)
from backend.accounts.schemas import RegisterIn
from backend.accounts.sessions import end_session
from backend.accounts.two_step import challenge
from backend.config import Settings
from backend.diary import catalog
from backend.shared.caller import client_address, session_token_from
from backend.shared.checks import zone_choices
from backend.shared.csrf import cleared_anonymous_cookie
from backend.shared.i18n import LANGUAGES, N_, best_language, translate
from backend.shared.problems import FieldError, Problem, invalid
from backend.shared.rendering import page

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
Form = Body(media_type=RequestEncodingType.URL_ENCODED)
FIELD_LABELS = {
    "email": N_("E-mail"),
    "password": N_("Password"),
    "display_name": N_("Your name"),
    "time_zone": N_("Time zone"),
    "new_password": N_("New password"),
    "current_password": N_("Current password"),
}
# What the password rules say (passwords.password_problem), for the catalogs: the pages show them translated.
PASSWORD_RULES = (
    N_("Use at least 8 characters. A short sentence is easy to remember and hard to guess."),
    N_("Use at most 1024 characters."),
    N_("This password is one of the most common ones and is easy to guess. Please choose another."),
    N_("Do not use your e-mail address as your password."),
)
REASONS = (N_("is not your current password"), N_("contains control characters"))
WAIT = N_("Too many attempts. Please wait a little and try again.")
WRONG = N_("That e-mail and password do not match an account. Check them and try again.")


def _page(request: Request[Any, Any, Any], settings: Settings, name: str, **context: Any) -> Template:
    return page(request, settings, name, **context)


def _language(request: Request[Any, Any, Any]) -> str:
    return best_language(request.headers.get("accept-language"))


def messages(problem: Problem, language: str) -> list[str]:
    """A problem in words for the form: each field's label and reason, in the page's language where known."""
    if problem.status_code == 429:
        return [translate(language, WAIT)]
    if not problem.errors:
        return [translate(language, str(problem.detail))]
    return [
        f"{translate(language, FIELD_LABELS.get(e.field, e.field))}: {translate(language, e.reason)}"
        for e in problem.errors
    ]


def _waited(problem: Problem) -> dict[str, str]:
    return {k: v for k, v in (problem.headers or {}).items() if k.lower().startswith(("retry-after", "ratelimit"))}


def _after_sign_in(settings: Settings, done: services.SignedIn) -> Redirect:
    if done.session is None:
        assert done.challenge is not None
        return Redirect("/sign-in/code", status_code=303, cookies=[challenge_cookie(settings, done.challenge)])
    cookies = [session_cookie(settings, done.session, done.user.role), cleared_challenge_cookie(settings)]
    if done.device:
        cookies.append(device_cookie(settings, done.device))
    return Redirect("/", status_code=303, cookies=cookies)


# ---- the password step ----------------------------------------------------------------------------------------------


@get("/sign-in", include_in_schema=False)
async def sign_in_page(request: Request[Any, Any, Any], settings: Settings) -> Template:
    erased, again = request.query_params.get("erased") == "1", request.query_params.get("notice") == "again"
    return _page(request, settings, "sign_in.html", erased=erased, again=again)


@post("/sign-in", include_in_schema=False, status_code=303)
async def sign_in_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: dict[str, str] = Form
) -> Response[Any]:
    email, password = data.get("email", "")[:254], data.get("password", "")[:4096]
    try:
        done = await services.sign_in(
            db,
            settings,
            email=email,
            password=password,
            address=client_address(request),
            replacing=session_token_from(request, settings),
            device=device_from(request, settings),
        )
    except Problem as problem:
        await db.rollback()
        words = [translate(_language(request), WRONG)] if problem.code == "bad-credentials" else None
        status = 400 if problem.status_code == 401 else problem.status_code  # the form's answer, not a sign-out
        return _page(
            request,
            settings,
            "sign_in.html",
            status=status,
            email=email,
            error=(words or messages(problem, _language(request)))[0],
            headers=_waited(problem),
        )
    return _after_sign_in(settings, done)


# ---- a clinician's second step --------------------------------------------------------------------------------------


@get("/sign-in/code", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    if await challenge(db, challenge_from(request, settings)) is None:
        return Redirect("/sign-in?notice=again", status_code=303)
    return _page(request, settings, "sign_in_code.html")


@post("/sign-in/code", include_in_schema=False, status_code=303)
async def code_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: dict[str, str] = Form
) -> Response[Any]:
    try:
        done = await services.second_step(
            db,
            settings,
            challenge=challenge_from(request, settings),
            code=data.get("code", "")[:32],
            remember=data.get("remember") == "on",
            address=client_address(request),
            replacing=session_token_from(request, settings),
        )
    except Problem as problem:
        await db.rollback()
        if problem.code == "sign-in-again":
            return Redirect("/sign-in?notice=again", status_code=303, cookies=[cleared_challenge_cookie(settings)])
        return _page(
            request,
            settings,
            "sign_in_code.html",
            status=problem.status_code,
            error=messages(problem, "en")[0],
            headers=_waited(problem),
        )
    return _after_sign_in(settings, done)


# ---- registering and signing out -------------------------------------------------------------------------------------


def _register_page(request: Request[Any, Any, Any], settings: Settings, form: dict[str, Any], **extra: Any) -> Template:
    """The registration form: who you are, and for a patient the condition(s), the language and the time zone the
    diary is kept in (chosen from lists: the profile's own choices, so the rules and reminders fit from day one)."""
    language = _language(request)
    conditions = [(code, translate(language, label)) for code, label in catalog.CONDITIONS.items()]
    return _page(
        request,
        settings,
        "register.html",
        form={"language": language, **form},
        conditions=conditions,
        zones=zone_choices(),
        **extra,
    )


@get("/register", include_in_schema=False)
async def register_page(request: Request[Any, Any, Any], settings: Settings) -> Template:
    return _register_page(request, settings, {})


@post("/register", include_in_schema=False, status_code=303)
async def register_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    data = await request.form()
    form: dict[str, Any] = {k: str(data.get(k) or "") for k in ("email", "display_name", "role", "time_zone")}
    form["conditions"] = [c for c in dict.fromkeys(data.getall("conditions", [])) if c in catalog.CONDITIONS]
    chosen = str(data.get("language") or "")
    form["language"] = chosen if chosen in LANGUAGES else _language(request)
    language = _language(request)
    try:
        parsed = RegisterIn(
            email=form["email"][:254].strip(),
            password=str(data.get("password") or "")[:4096],
            display_name=form["display_name"][:100],
            role="clinician" if form["role"] == "clinician" else "patient",
            time_zone=form["time_zone"][:64] or "UTC",
            language=form["language"],
            conditions=form["conditions"],
        )
        if not EMAIL.match(parsed.email):
            raise invalid([FieldError("email", "is not an e-mail address such as name@example.com")])
        done = await services.register(
            db, settings, parsed, address=client_address(request), replacing=session_token_from(request, settings)
        )
    except Problem as problem:
        await db.rollback()
        return _register_page(
            request,
            settings,
            form,
            status=400 if problem.status_code != 429 else 429,
            errors=messages(problem, language),
            headers=_waited(problem),
        )
    cookies = [session_cookie(settings, done.session, done.role)]
    return Redirect("/", status_code=303, cookies=cookies, background=later(done.mail, settings))


@post("/sign-out", include_in_schema=False, status_code=303)
async def sign_out_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    token = session_token_from(request, settings)
    if token:
        await end_session(db, token)
        await db.commit()
    cookies = [cleared_session_cookie(settings), cleared_anonymous_cookie()]
    return Redirect("/sign-in", status_code=303, cookies=cookies)


# ---- a forgotten password --------------------------------------------------------------------------------------------


@get("/forgot-password", include_in_schema=False)
async def forgot_page(request: Request[Any, Any, Any], settings: Settings) -> Template:
    return _page(request, settings, "forgot_password.html")


@post("/forgot-password", include_in_schema=False, status_code=200)
async def forgot_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: dict[str, str] = Form
) -> Template:
    email = data.get("email", "")[:254].strip()
    try:
        message = await credentials.request_reset(db, settings, email, address=client_address(request))
    except Problem as problem:
        await db.rollback()
        return _page(
            request,
            settings,
            "forgot_password.html",
            status=problem.status_code,
            email=email,
            errors=messages(problem, _language(request)),
            headers=_waited(problem),
        )
    template = _page(request, settings, "forgot_password.html", sent=True, email=email)
    template.background = later(message, settings)
    return template


@get("/reset-password", include_in_schema=False)
async def reset_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Template:
    token = request.query_params.get("token", "")[:128]
    holder = await credentials.reset_holder(db, token)
    return _page(
        request, settings, "reset_password.html", token=token, invalid=holder is None, status=200 if holder else 400
    )


@post("/reset-password", include_in_schema=False, status_code=303)
async def reset_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, data: dict[str, str] = Form
) -> Response[Any]:
    token = data.get("token", "")[:128]
    try:
        done = await credentials.complete_reset(
            db, settings, token, data.get("new_password", "")[:4096], address=client_address(request)
        )
    except Problem as problem:
        await db.rollback()
        invalid_link = problem.code == "reset-link-invalid"
        return _page(
            request,
            settings,
            "reset_password.html",
            status=problem.status_code,
            token=token,
            invalid=invalid_link,
            errors=[] if invalid_link else messages(problem, _language(request)),
        )
    return _after_sign_in(settings, done)


ROUTES: list[Any] = [
    sign_in_page,
    sign_in_form,
    code_page,
    code_form,
    register_page,
    register_form,
    sign_out_form,
    forgot_page,
    forgot_form,
    reset_page,
    reset_form,
]
