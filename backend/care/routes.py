"""Clinician exports of a linked patient's diary (the "export" scope of the care link)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.csv_export import load_csv
from backend.care.fhir import load_bundle
from backend.config import Settings
from backend.shared.access import require_link
from backend.shared.audit import AuditEvent, audit_event
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal, client_address


@get("/api/v1/patients/{patient_id:uuid}/export/fhir", tags=["exports (clinician)"], media_type="application/fhir+json",
     summary="A linked patient's diary as an HL7 FHIR R4 Bundle", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def clinician_fhir_export(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Response[dict[str, Any]]:
    await require_link(request, db, clinician, patient_id, "export", "export.fhir")
    bundle = await load_bundle(db, patient_id, settings.base_url)
    encoded: Any = msgspec.json.encode(bundle)  # sent as bytes; documented as the Bundle it holds
    return Response(encoded, media_type="application/fhir+json", headers={"Cache-Control": "no-store"})


@get("/api/v1/patients/{patient_id:uuid}/export/csv", tags=["exports (clinician)"], media_type="text/csv",
     summary="A linked patient's whole diary as CSV", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def clinician_csv_export(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[str]:
    await require_link(request, db, clinician, patient_id, "export", "export.csv")
    return _csv(await load_csv(db, patient_id))


@get("/api/v1/export/csv", tags=["data rights"], summary="My whole diary as CSV", media_type="text/csv",
     dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def my_csv_export(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal) -> Response[str]:
    db.add(audit_event(patient, "export.csv", patient_id=patient.user_id, address=client_address(request)))
    await db.commit()
    return _csv(await load_csv(db, patient.user_id))


def _csv(text: str) -> Response[str]:
    return Response(text, media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="spasm-diary.csv"', "Cache-Control": "no-store"})  # fmt: skip


class AccessOut(msgspec.Struct, kw_only=True):
    at: dt.datetime
    who: str
    role: str | None
    action: str
    outcome: str


@get("/api/v1/access-history", tags=["sharing"], summary="Who looked at or changed my diary, and when",
     dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def access_history(
    db: AsyncSession, patient: Principal, limit: Annotated[int, Parameter(ge=1, le=500)] = 100
) -> Response[list[AccessOut]]:
    events = (
        await db.execute(
            select(AuditEvent, User.display_name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.patient_id == patient.user_id, AuditEvent.actor_id != patient.user_id)
            .order_by(AuditEvent.at.desc())
            .limit(limit)
        )
    ).all()
    return Response([AccessOut(at=e.at, who=name or "a former account", role=e.actor_role, action=e.action,
                               outcome=e.outcome) for e, name in events], headers={"Cache-Control": "no-store"})  # fmt: skip


CARE_ROUTES: list[Any] = [clinician_fhir_export, clinician_csv_export, my_csv_export, access_history]
