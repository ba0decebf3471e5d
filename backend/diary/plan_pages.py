"""The patient's treatment plan: the medicines and other treatments they are on, adding one, changing it, stopping it.

Plain forms. Each is decoded into the API's own ``RegimenIn`` (shared/forms.py) and written by the same service as
``PUT /api/v1/regimens/{id}`` (services.Writes.regimen), so the page is held to the API's rules. A new treatment's id is
chosen when its form is shown, so a form sent twice (a double tap, a reload) writes one regimen, not two. The reminders
of the plan's times are planned by the evaluator that every diary write schedules (app.py: ``then=plan_patient``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.diary import catalog, doses, records, services
from backend.diary.dependencies import TheWrites
from backend.diary.display import options
from backend.diary.models import PatientProfile
from backend.diary.pages import today
from backend.diary.schemas import RegimenIn, RegimenOut
from backend.shared import forms
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import N_, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
TIME_FIELDS = ("time_1", "time_2", "time_3", "time_4")
# A time field posts HH:MM, some browsers HH:MM:SS; the seconds are dropped, anything else goes to the Struct as typed.
FIELD_NAMES = {
    "kind": N_("What kind of treatment"),
    "name": N_("Name"),
    "dose": N_("Dose"),
    "times": N_("Times of day"),
    "start_date": N_("Started on"),
    "stop_date": N_("Stopped on"),
    "note": N_("Why you take it"),
    "schedule": N_("How often"),
}
PROBLEM_DETAILS = (N_("must not be before start_date"), N_("The regimen changed since you loaded it."))
STALE = N_("This treatment was changed from somewhere else meanwhile. Your changes are shown; save again to keep them.")
ADHERENCE_DAYS = 14


def regimen_values(form: Any) -> dict[str, Any]:
    """The plan form's fields as the API's body (RegimenIn decodes and checks every one)."""
    kind = forms.text(form, "kind")
    times = [t for t in (forms.clock(form, name) for name in TIME_FIELDS) if t]
    return {
        "kind": kind,
        "name": forms.text(form, "name"),
        "dose": forms.text(form, "dose"),
        "times": sorted(dict.fromkeys(times)),
        "start_date": forms.text(form, "start_date"),
        "stop_date": forms.text(form, "stop_date"),
        "stopped_by_clinician": bool(form.get("stopped_by_clinician")),
        "note": forms.text(form, "note"),
    }


def _decoded(values: dict[str, Any]) -> RegimenIn:
    """A name left empty is the empty text the Struct refuses by name ("is empty"), as the API would."""
    return forms.decode({**values, "name": values.get("name") or ""}, RegimenIn)


def _is_current(r: RegimenOut, on: dt.date) -> bool:
    return r.start_date <= on and (r.stop_date is None or r.stop_date > on)


async def _plan_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal, *, saved: str | None
) -> Template:
    profile = await services.profile_row(db, me.user_id)
    lang = profile.language
    on = today(profile)
    plan = await services.regimens(db, me.user_id)
    taken = await doses.adherence_by_regimen(db, me.user_id, on - dt.timedelta(days=ADHERENCE_DAYS - 1), on)
    kinds = dict(options(lang, catalog.REGIMEN_KINDS))
    return page(
        request,
        settings,
        "patient/plan.html",
        language=lang,
        me=me,
        current=[r for r in plan if _is_current(r, on) or r.start_date > on],
        past=[r for r in plan if r.stop_date is not None and r.stop_date <= on],
        kinds=kinds,
        taken=taken,
        adherence_days=ADHERENCE_DAYS,
        today=on,
        saved=saved,
    )


async def _form_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    regimen_id: uuid.UUID,
    r: dict[str, Any],
    *,
    new: bool,
    status: int = 200,
    errors: list[str] | None = None,
) -> Template:
    lang = profile.language
    return page(
        request,
        settings,
        "patient/plan_form.html",
        status=status,
        language=lang,
        me=me,
        regimen_id=regimen_id,
        r=r,
        new=new,
        kinds=options(lang, catalog.REGIMEN_KINDS),
        time_fields=TIME_FIELDS,
        errors=errors,
    )


def _shown(out: RegimenOut) -> dict[str, Any]:
    return {
        "kind": out.kind,
        "name": out.name,
        "dose": out.dose,
        "times": out.times,
        "start_date": out.start_date.isoformat(),
        "stop_date": out.stop_date.isoformat() if out.stop_date else None,
        "stopped_by_clinician": out.stopped_by_clinician,
        "note": out.note,
        "version": out.version,
    }


@get("/plan", include_in_schema=False, dependencies=PATIENT)
async def plan_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    saved = request.query_params.get("saved")
    return await _plan_page(request, db, settings, patient, saved=saved if saved in {"1", "stopped"} else None)


@get("/plan/new", include_in_schema=False, dependencies=PATIENT)
async def new_regimen_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    fresh = {"kind": "muscle_relaxant", "times": [], "start_date": today(profile).isoformat()}
    return await _form_page(request, db, settings, patient, profile, uuid.uuid4(), fresh, new=True)


@get("/plan/{regimen_id:uuid}", include_in_schema=False, dependencies=PATIENT)
async def regimen_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, regimen_id: uuid.UUID
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    row = await services.regimen_row(db, patient.user_id, regimen_id)
    shown = _shown(records.regimen_out(row))
    return await _form_page(request, db, settings, patient, profile, regimen_id, shown, new=False)


async def _save(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    writes: TheWrites,
    patient: Principal,
    regimen_id: uuid.UUID,
    *,
    new: bool,
) -> Response[Any]:
    form = await request.form()
    values = regimen_values(form)
    version = None if new else forms.version(form)
    try:
        data = _decoded(values)
        await writes.regimen(db, patient, regimen_id, data, version, address=client_address(request))
    except Problem as problem:
        await db.rollback()
        profile = await services.profile_row(db, patient.user_id)
        lang = profile.language
        typed = {**values, "version": version}
        if problem.status_code in (409, 412, 428):
            errors = [translate(lang, STALE)]
        else:
            errors = forms.messages(problem, lang, FIELD_NAMES)
        return await _form_page(
            request,
            db,
            settings,
            patient,
            profile,
            regimen_id,
            typed,
            new=new,
            status=problem.status_code,
            errors=errors,
        )
    return Redirect("/plan?saved=1", status_code=303)


@post("/plan/new", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def new_regimen_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, writes: TheWrites, patient: Principal
) -> Response[Any]:
    """Adds a treatment under the id its form was shown with (a double tap writes it once)."""
    form = await request.form()
    try:
        regimen_id = uuid.UUID(str(form.get("id") or ""))
    except ValueError:
        regimen_id = uuid.uuid4()  # a form without its id (an old copy): still one write
    return await _save(request, db, settings, writes, patient, regimen_id, new=True)


@post("/plan/{regimen_id:uuid}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def regimen_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    writes: TheWrites,
    patient: Principal,
    regimen_id: uuid.UUID,
) -> Response[Any]:
    """Changes a treatment, on top of the version the form showed (If-Match)."""
    return await _save(request, db, settings, writes, patient, regimen_id, new=False)


@post("/plan/{regimen_id:uuid}/stop", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def stop_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    writes: TheWrites,
    patient: Principal,
    regimen_id: uuid.UUID,
) -> Response[Any]:
    """Stops a treatment today, through the regimen's own write; whether a clinician said so matters (rule S5)."""
    form = await request.form()
    profile = await services.profile_row(db, patient.user_id)
    row = await services.regimen_row(db, patient.user_id, regimen_id)
    current = records.regimen_out(row)
    fields = {f: getattr(current, f) for f in RegimenIn.__struct_fields__ if f != "entered_at"}
    on = today(profile)
    fields["stop_date"] = max(on, current.start_date)
    fields["stopped_by_clinician"] = form.get("stopped_by_clinician") == "yes"
    await writes.regimen(
        db, patient, regimen_id, RegimenIn(**fields), forms.version(form), address=client_address(request)
    )
    return Redirect("/plan?saved=stopped", status_code=303)


ROUTES: list[Any] = [plan_page, new_regimen_page, new_regimen_form, regimen_page, regimen_form, stop_form]
