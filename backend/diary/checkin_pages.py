"""The patient's daily check-in and weekly Penn spasm frequency rating, as plain forms (the outbox in pwa/static sends
the same forms offline). Each is decoded into the API's own Struct and written by the same service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.diary import catalog, records, services
from backend.diary.dependencies import TheWrites
from backend.diary.display import FIELD_NAMES, options
from backend.diary.models import CheckIn, PatientProfile, PennRating
from backend.diary.pages import today
from backend.diary.schemas import CheckInIn, PennIn
from backend.shared import formats, forms
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import N_, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
# The check-in's own sentences for a temperature it cannot take (forms.messages; the limits are CheckInIn's).
CHECKIN_SENTENCES = {
    ("temperature_c", "type"): N_("The temperature must be a number such as 37.5."),
    ("temperature_c", "range"): N_("The temperature must be between 30 and 45 °C."),
}
CHECKIN_CONFLICT = N_(
    "This day's check-in was saved from somewhere else meanwhile. Your answers are shown; save again to keep them."
)


def _t(lang: str, text: str) -> str:
    return translate(lang, text)


def _messages(problem: Problem, lang: str) -> list[str]:
    return forms.messages(problem, lang, FIELD_NAMES)


async def _checkin_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    day: dt.date,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    lang = profile.language
    if "c" not in extra:
        row = await db.get(CheckIn, (me.user_id, day))
        extra["c"] = records.checkin_out(row) if row else {}
    return page(
        request,
        settings,
        "patient/checkin.html",
        status=status,
        language=lang,
        me=me,
        day=day,
        day_label=formats.day(day, profile.language, weekday=True),
        meds_taken=options(lang, catalog.MEDS_TAKEN),
        symptoms=options(lang, catalog.SYMPTOMS),
        **extra,
    )


@get("/check-in", include_in_schema=False, dependencies=PATIENT)
async def checkin_today(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    return await _checkin_page(request, db, settings, patient, profile, today(profile))


@get("/check-in/{day:date}", include_in_schema=False, dependencies=PATIENT)
async def checkin_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, day: dt.date
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    saved = request.query_params.get("saved") == "1"
    return await _checkin_page(request, db, settings, patient, profile, day, saved=saved)


def checkin_values(form: Any) -> dict[str, Any]:
    """The check-in form's fields as the API's body (the Struct decodes and checks every one)."""
    meds = forms.text(form, "meds_taken")
    return {
        "no_episodes": bool(form.get("no_episodes")),
        "stiffness": forms.number(form, "stiffness"),
        "sleep_disturbance": forms.number(form, "sleep_disturbance"),
        "pain": forms.number(form, "pain"),
        "meds_taken": meds if meds in catalog.MEDS_TAKEN else None,
        "symptoms": forms.codes(form, "symptoms", catalog.SYMPTOMS),
        "systolic_bp": forms.number(form, "systolic_bp"),
        "temperature_c": forms.number(form, "temperature_c"),
        "new_or_worse_symptoms": True if form.get("new_or_worse_symptoms") else None,
        "note": forms.text(form, "note"),
    }


@post("/check-in/{day:date}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def checkin_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    writes: TheWrites,
    patient: Principal,
    day: dt.date,
) -> Response[Any]:
    form = await request.form()
    profile = await services.profile_row(db, patient.user_id)
    values = checkin_values(form)
    # What was typed, shown again with any message (the page reads the same names as a stored check-in).
    typed = {**values, "version": forms.version(form)}
    try:
        data = forms.decode(values, CheckInIn)
        out, _created = await writes.checkin(
            db, patient, day, data, forms.version(form), address=client_address(request)
        )
    except Problem as problem:
        await db.rollback()
        profile = await services.profile_row(db, patient.user_id)  # the rollback expired it
        lang = profile.language
        if problem.status_code in (412, 428):  # the day's check-in was saved elsewhere meanwhile (another phone)
            row = await db.get(CheckIn, (patient.user_id, day))
            theirs = {**typed, "version": row.version if row else None}
            errors = [_t(lang, CHECKIN_CONFLICT)]
            return await _checkin_page(
                request, db, settings, patient, profile, day, status=409, c=theirs, errors=errors
            )
        if problem.code == "contradiction":
            count = len(problem.extra_members.get("episodes", []))
            words = _t(
                lang,
                "You ticked “no spasms or cramps today”, but your diary already has episodes on this day (%(n)s). "
                "Untick it, or delete those episodes first. Your answers are still here.",
            ) % {"n": count}
            link = f"/history?before={day + dt.timedelta(days=1)}"
            return await _checkin_page(
                request, db, settings, patient, profile, day, status=422, c=typed, errors=[words], day_link=link
            )
        errors = forms.messages(problem, lang, FIELD_NAMES, CHECKIN_SENTENCES)
        return await _checkin_page(
            request, db, settings, patient, profile, day, status=problem.status_code, c=typed, errors=errors
        )
    if out.safety:
        return await _checkin_page(request, db, settings, patient, profile, day, c=out, saved=True, safety=out.safety)
    return Redirect(f"/check-in/{day}?saved=1", status_code=303)


async def _penn_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    week: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    lang = profile.language
    row = await db.get(PennRating, (me.user_id, week))
    # The Penn spasm frequency and severity scales, in plain words (CLINICAL.md, scales).
    frequencies = [
        (0, _t(lang, "None")),
        (1, _t(lang, "Only when something set them off, such as a touch or a move")),
        (2, _t(lang, "Now and then, less than once an hour")),
        (3, _t(lang, "Between 1 and 10 times an hour")),
        (4, _t(lang, "More than 10 times an hour")),
    ]
    severities = [(1, _t(lang, "Mild")), (2, _t(lang, "Moderate")), (3, _t(lang, "Severe"))]
    return page(
        request,
        settings,
        "patient/penn.html",
        status=status,
        language=lang,
        me=me,
        week=week,
        p=records.penn_out(row) if row else {},
        frequencies=frequencies,
        severities=severities,
        **extra,
    )


@get("/penn", include_in_schema=False, dependencies=PATIENT)
async def penn_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    saved = request.query_params.get("saved") == "1"
    return await _penn_page(request, db, settings, patient, profile, records.iso_week(today(profile)), saved=saved)


@post("/penn/{week:str}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def penn_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    writes: TheWrites,
    patient: Principal,
    week: str,
) -> Response[Any]:
    form = await request.form()
    profile = await services.profile_row(db, patient.user_id)
    try:
        week = services.checked_week(week)  # the address is held to the API's pattern: one week, one key
        frequency = forms.number(form, "frequency")
        if frequency is None:
            raise Problem(422, _t(profile.language, "Choose how often you had spasms."), code="validation-failed")
        values = {"frequency": frequency, "severity": forms.number(form, "severity") if frequency != 0 else None}
        data = forms.decode(values, PennIn)
        await writes.penn(db, patient, week, data, forms.version(form), address=client_address(request))
    except Problem as problem:
        await db.rollback()
        profile = await services.profile_row(db, patient.user_id)  # the rollback expired it
        errors = _messages(problem, profile.language)
        shown = week if services.is_iso_week(week) else records.iso_week(today(profile))
        return await _penn_page(
            request, db, settings, patient, profile, shown, status=problem.status_code, errors=errors
        )
    return Redirect("/penn?saved=1", status_code=303)


ROUTES: list[Any] = [checkin_today, checkin_page, checkin_form, penn_page, penn_form]
