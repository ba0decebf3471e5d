"""Clinician exports of a linked patient's diary (the "export" scope of the care link)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import provide_clinician
from backend.accounts.sessions import Principal
from backend.care.access import require_link
from backend.care.fhir import load_bundle
from backend.config import Settings


@get("/api/v1/patients/{patient_id:uuid}/export/fhir", tags=["exports (clinician)"],
     summary="A linked patient's diary as an HL7 FHIR R4 Bundle", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def clinician_fhir_export(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Response[bytes]:
    await require_link(request, db, clinician, patient_id, "export", "export.fhir")
    bundle = await load_bundle(db, patient_id, settings.base_url)
    return Response(msgspec.json.encode(bundle), media_type="application/fhir+json",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


CARE_ROUTES: list[Any] = [clinician_fhir_export]
