"""The patient's reminders page: the inbox, when to be reminded, the calendar address (the clinician's form that books
a follow-up is in clinician_pages.py). Plain forms, decoded into the API's Structs and written by the same services
(services.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary.dependencies import TheWrites
from backend.diary.records import zone_of
from backend.diary.services import profile_row
from backend.reminders import delivery, services
from backend.reminders.schemas import DoseAnswer, PreferencesIn
from backend.shared import forms
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.i18n import N_
from backend.shared.principal import Principal
from backend.shared.problems import Problem, not_found
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
CLINICIAN = {"clinician": Provide(provide_clinician)}
SNOOZES = {"15": 15, "60": 60, "180": 180}
DOSE_ANSWERS = {"taken", "skipped", "later"}
# A time field posts HH:MM, some browsers HH:MM:SS; the seconds are dropped, anything else goes to the Struct as typed.
FIELD_NAMES = {
    "daily_log_at": N_("Remind me to fill in my diary at"),
    "quiet_start": N_("From"),
    "quiet_end": N_("Until"),
    "starts_at": N_("Date and time"),
    "place": N_("Place"),
}
PROBLEM_DETAILS = (N_("quiet hours need both a start and an end"),)


async def _reminders_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    profile = await profile_row(db, me.user_id)
    zone = zone_of(profile)
    now = utcnow()

    def local(moment: dt.datetime) -> str:
        return moment.astimezone(zone).strftime("%d/%m %H:%M")

    return page(
        request,
        settings,
        "patient/reminders.html",
        status=status,
        language=profile.language,
        me=me,
        box=await services.inbox(db, me.user_id, now),
        local=local,
        prefs=await services.preferences_out(db, me.user_id),
        appointments=await services.coming_appointments(db, me.user_id, now),
        smtp=bool(settings.smtp_host),
        vapid=(await delivery.vapid_keys(db)).public,
        **extra,
    )


@get("/reminders", include_in_schema=False, dependencies=PATIENT)
async def reminders_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    return await _reminders_page(request, db, settings, patient)


@post("/reminders/{reminder_id:uuid}/{action:str}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def reminder_action_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    writes: TheWrites,
    patient: Principal,
    reminder_id: uuid.UUID,
    action: str,
) -> Response[Any]:
    if action in DOSE_ANSWERS:  # a medicine reminder: the dose is recorded (taken, skipped, later)
        answer = forms.decode({"status": action}, DoseAnswer)
        await services.answer_dose(db, writes, patient, reminder_id, answer, address=client_address(request))
    elif action == "done":
        await services.acknowledge(db, patient, reminder_id)
    elif action == "snooze":
        form = await request.form()
        await services.snooze(db, patient, reminder_id, SNOOZES.get(str(form.get("minutes")), 60))
    else:
        raise not_found("page")
    return Redirect("/reminders", status_code=303)


@post("/reminders/preferences", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def preferences_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    form = await request.form()
    values = {
        "daily_log_at": forms.clock(form, "daily_log_at"),
        "quiet_start": forms.clock(form, "quiet_start"),
        "quiet_end": forms.clock(form, "quiet_end"),
        "medicines": bool(form.get("medicines")),
        "email": bool(form.get("email")),
    }
    try:
        await services.save_preferences(db, patient, forms.decode(values, PreferencesIn))
    except Problem as problem:
        await db.rollback()
        language = (await profile_row(db, patient.user_id)).language
        errors = forms.messages(problem, language, FIELD_NAMES)
        return await _reminders_page(request, db, settings, patient, status=problem.status_code, errors=errors)
    return await _reminders_page(request, db, settings, patient, saved=True)


@post("/reminders/calendar", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def calendar_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    form = await request.form()
    if form.get("action") == "end":
        await services.end_feed(db, patient)
        return await _reminders_page(request, db, settings, patient, feed_ended=True)
    url = await services.new_feed(db, settings, patient)
    return await _reminders_page(request, db, settings, patient, feed_url=url)


ROUTES: list[Any] = [reminders_page, reminder_action_form, preferences_form, calendar_form]
