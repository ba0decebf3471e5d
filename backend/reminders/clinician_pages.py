"""The clinician's form that books a follow-up from the report page, in the patient's local time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, post
from litestar.di import Provide
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import PatientProfile
from backend.diary.records import zone_of
from backend.reminders import services
from backend.reminders.schemas import AppointmentIn
from backend.shared import forms
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, invalid

CLINICIAN = {"clinician": Provide(provide_clinician)}


@post("/patients/{patient_id:uuid}/appointments", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def appointment_form(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[Any]:
    """The report page's form: a local date and time in the patient's own time zone."""
    form = await request.form()
    try:
        local = dt.datetime.fromisoformat(forms.text(form, "starts_at") or "")
    except ValueError as exc:
        raise invalid([FieldError("starts_at", "must be a date and time such as 2026-12-01T10:30")]) from exc
    zone = zone_of(await db.get(PatientProfile, patient_id))  # no answer about the patient before require_link
    starts = local.replace(tzinfo=zone) if local.tzinfo is None else local
    data = forms.decode({"starts_at": starts, "place": forms.text(form, "place")}, AppointmentIn)
    await services.schedule(db, clinician, patient_id, data, address=client_address(request))
    return Redirect(f"/patients/{patient_id}/report?scheduled=1", status_code=303)


ROUTES: list[Any] = [appointment_form]
