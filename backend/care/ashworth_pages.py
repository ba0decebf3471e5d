"""The clinician's Modified Ashworth page for one patient: the form (muscle group, side, grade with "1+", date) and
the grades so far, newest first. The form is decoded into the API's own Struct (AshworthIn), so its limits hold."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care import triage
from backend.care.ashworth_words import GRADES, GROUPS, SIDES
from backend.care.schemas import AshworthIn
from backend.config import Settings
from backend.db import utcnow
from backend.shared import forms
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician
from backend.shared.i18n import N_, best_language
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

CLINICIAN = {"clinician": Provide(provide_clinician)}
FIELDS = {
    "muscle_group": N_("Muscle group"),
    "side": N_("Side"),
    "grade": N_("Grade"),
    "assessed_on": N_("Date of the examination"),
    "note": N_("Note"),
}


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    patient_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    patient = await db.get(User, patient_id)
    grades = await triage.ashworth_grades(db, patient_id)
    who = {g.clinician_id for g in grades if g.clinician_id}
    names = {u.id: u.display_name for u in [await db.get(User, c) for c in who] if u}
    return page(
        request,
        settings,
        "clinician/ashworth.html",
        status=status,
        me=clinician,
        patient=patient,
        grades=grades,
        names=names,
        groups=GROUPS,
        sides=SIDES,
        grade_words=GRADES,
        today=utcnow().date(),
        **extra,
    )


@get("/patients/{patient_id:uuid}/ashworth", include_in_schema=False, dependencies=CLINICIAN)
async def ashworth_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Template:
    link = await require_link(db, clinician, patient_id, "view", "ashworth.read", address=client_address(request))
    saved = request.query_params.get("saved") == "1"
    return await _page(
        request, db, settings, clinician, patient_id, can_annotate="annotate" in link.scopes, saved=saved
    )


@post("/patients/{patient_id:uuid}/ashworth", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def ashworth_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Response[Any]:
    await require_link(db, clinician, patient_id, "annotate", "ashworth.create", address=client_address(request))
    form = await request.form()
    typed = {
        "muscle_group": forms.text(form, "muscle_group"),
        "side": forms.text(form, "side"),
        "grade": forms.text(form, "grade"),
        "assessed_on": forms.text(form, "assessed_on"),
        "note": forms.text(form, "note"),
    }
    try:
        data = forms.decode({k: v for k, v in typed.items() if v is not None}, AshworthIn)
        await triage.add_ashworth(db, clinician, patient_id, data)
    except Problem as problem:
        await db.rollback()
        language = best_language(request.headers.get("accept-language"))
        errors = forms.messages(problem, language, FIELDS)
        return await _page(
            request, db, settings, clinician, patient_id, status=422, can_annotate=True, errors=errors, typed=typed
        )
    return Redirect(f"/patients/{patient_id}/ashworth?saved=1", status_code=303)


ROUTES: list[Any] = [ashworth_page, ashworth_form]
