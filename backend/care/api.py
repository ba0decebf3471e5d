"""The care area over JSON: sharing codes and links, who looked, exports, and the clinician's workspace (triage,
review marks, Modified Ashworth grades). Thin: each handler reads the request and calls the services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.care import exports, services, triage
from backend.care.csv_export import load_csv
from backend.care.fhir import load_bundle
from backend.care.schemas import (
    AcceptIn,
    AccessOut,
    AshworthIn,
    AshworthOut,
    InvitationIn,
    InvitationOut,
    LinkOut,
    OfferOut,
    RedeemIn,
    TriageRow,
)
from backend.config import Settings
from backend.db import utcnow
from backend.shared.access import require_link
from backend.shared.audit import audit_event
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal

NO_STORE = {"Cache-Control": "no-store"}
FHIR_JSON = "application/fhir+json"
PATIENT = {"patient": Provide(provide_patient)}
CLINICIAN = {"clinician": Provide(provide_clinician)}
Period = Annotated[Literal[7, 14, 30], Parameter(description="days: 7, 14 or 30")]


# ---- sharing ----------------------------------------------------------------------------------------------------


@post(
    "/api/v1/care-links/invitations",
    tags=["sharing"],
    status_code=201,
    summary="Make a one-time code to share my diary with a clinician",
    dependencies=PATIENT,
)
async def invite(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: InvitationIn
) -> Response[InvitationOut]:
    made = await services.invite(db, settings, patient, list(data.scopes), address=client_address(request))
    return Response(made, status_code=201, headers=NO_STORE)


@post(
    "/api/v1/care-links/redeem",
    tags=["sharing"],
    status_code=201,
    summary="Use a patient's code to see their diary",
    dependencies=CLINICIAN,
)
async def redeem(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, data: RedeemIn
) -> Response[LinkOut]:
    link = await services.redeem(db, settings, clinician, data.code, address=client_address(request))
    return Response(link, status_code=201, headers=NO_STORE)


@post(
    "/api/v1/care-links/offers",
    tags=["sharing"],
    status_code=201,
    summary="Make a one-time code a patient can accept to share with me",
    dependencies=CLINICIAN,
)
async def offer(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal
) -> Response[OfferOut]:
    made = await services.offer(db, settings, clinician, address=client_address(request))
    return Response(made, status_code=201, headers=NO_STORE)


@post(
    "/api/v1/care-links/accept",
    tags=["sharing"],
    status_code=201,
    summary="Accept a clinician's code and choose what to share",
    dependencies=PATIENT,
)
async def accept(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: AcceptIn
) -> Response[LinkOut]:
    address = client_address(request)
    link = await services.accept(db, settings, patient, data.code, list(data.scopes), address=address)
    return Response(link, status_code=201, headers=NO_STORE)


@get("/api/v1/care-links", tags=["sharing"], summary="Who I share with (patients) or who shares with me (clinicians)")
async def list_links(db: AsyncSession, principal: Principal) -> Response[list[LinkOut]]:
    return Response(await services.links(db, principal), headers=NO_STORE)


@delete(
    "/api/v1/care-links/{link_id:uuid}",
    tags=["sharing"],
    status_code=204,
    summary="Stop sharing my diary with this clinician",
    dependencies=PATIENT,
)
async def revoke(
    request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, link_id: uuid.UUID
) -> Response[None]:
    await services.revoke(db, patient, link_id, address=client_address(request))
    return Response(None, status_code=204, headers=NO_STORE)


@get(
    "/api/v1/access-history",
    tags=["sharing"],
    summary="Who looked at or changed my diary, and when",
    dependencies=PATIENT,
)
async def access_history(
    db: AsyncSession, patient: Principal, limit: Annotated[int, Parameter(ge=1, le=500)] = 100
) -> Response[list[AccessOut]]:
    return Response(await services.access_history(db, patient.user_id, limit), headers=NO_STORE)


# ---- exports ----------------------------------------------------------------------------------------------------


def _csv(text: str) -> Response[str]:
    headers = {"Content-Disposition": 'attachment; filename="spasm-diary.csv"', "Cache-Control": "no-store"}
    return Response(text, media_type="text/csv", headers=headers)


@get("/api/v1/export", tags=["data rights"], summary="Everything the service holds about me, as JSON")
async def export_everything(
    request: Request[Any, Any, Any], db: AsyncSession, principal: Principal
) -> Response[dict[str, Any]]:
    body = await exports.everything(db, principal)
    patient_id = principal.user_id if principal.is_patient else None
    db.add(audit_event(principal, "export.json", patient_id=patient_id, address=client_address(request)))
    await db.commit()
    encoded: Any = msgspec.json.encode(body)  # sent as bytes; documented as the object it holds
    stamp = dt.date.today().isoformat()
    headers = {"Content-Disposition": f'attachment; filename="spasm-diary-{stamp}.json"', "Cache-Control": "no-store"}
    return Response(encoded, media_type="application/json", headers=headers)


@get(
    "/api/v1/export/fhir",
    tags=["data rights"],
    summary="My diary as an HL7 FHIR R4 Bundle",
    media_type=FHIR_JSON,
    dependencies=PATIENT,
)
async def export_fhir(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Response[dict[str, Any]]:
    bundle = await load_bundle(db, patient.user_id, settings.base_url)
    db.add(audit_event(patient, "export.fhir", patient_id=patient.user_id, address=client_address(request)))
    await db.commit()
    encoded: Any = msgspec.json.encode(bundle)
    headers = {"Content-Disposition": 'attachment; filename="spasm-diary-fhir.json"', "Cache-Control": "no-store"}
    return Response(encoded, media_type=FHIR_JSON, headers=headers)


@get(
    "/api/v1/export/csv",
    tags=["data rights"],
    summary="My whole diary as CSV",
    media_type="text/csv",
    dependencies=PATIENT,
)
async def my_csv_export(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal) -> Response[str]:
    db.add(audit_event(patient, "export.csv", patient_id=patient.user_id, address=client_address(request)))
    await db.commit()
    return _csv(await load_csv(db, patient.user_id))


@get(
    "/api/v1/patients/{patient_id:uuid}/export/fhir",
    tags=["exports (clinician)"],
    media_type=FHIR_JSON,
    summary="A linked patient's diary as an HL7 FHIR R4 Bundle",
    dependencies=CLINICIAN,
)
async def clinician_fhir_export(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Response[dict[str, Any]]:
    await require_link(db, clinician, patient_id, "export", "export.fhir", address=client_address(request))
    bundle = await load_bundle(db, patient_id, settings.base_url)
    encoded: Any = msgspec.json.encode(bundle)  # sent as bytes; documented as the Bundle it holds
    return Response(encoded, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


@get(
    "/api/v1/patients/{patient_id:uuid}/export/csv",
    tags=["exports (clinician)"],
    media_type="text/csv",
    summary="A linked patient's whole diary as CSV",
    dependencies=CLINICIAN,
)
async def clinician_csv_export(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[str]:
    await require_link(db, clinician, patient_id, "export", "export.csv", address=client_address(request))
    return _csv(await load_csv(db, patient_id))


# ---- the clinician's workspace ------------------------------------------------------------------------------------


@get(
    "/api/v1/triage",
    tags=["clinician workspace"],
    summary="My patients, the ones who need attention first",
    dependencies=CLINICIAN,
)
async def triage_list(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, days: Period = 7
) -> Response[list[TriageRow]]:
    rows = await triage.audited_triage(db, clinician, days, utcnow(), address=client_address(request))
    return Response(rows, headers=NO_STORE)


@post(
    "/api/v1/patients/{patient_id:uuid}/reviewed",
    tags=["clinician workspace"],
    status_code=201,
    summary="Mark this patient's diary as reviewed",
    dependencies=CLINICIAN,
)
async def mark_reviewed(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[dict[str, str]]:
    await require_link(db, clinician, patient_id, "view", "review.mark", address=client_address(request))
    mark = await triage.mark_reviewed(db, clinician, patient_id)
    body = {"id": str(mark.id), "reviewed_at": mark.reviewed_at.isoformat()}
    return Response(body, status_code=201, headers=NO_STORE)


@delete(
    "/api/v1/patients/{patient_id:uuid}/reviewed",
    tags=["clinician workspace"],
    status_code=204,
    summary="Undo my latest review mark",
    dependencies=CLINICIAN,
)
async def undo_reviewed(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[None]:
    await require_link(db, clinician, patient_id, "view", "review.undo", address=client_address(request))
    await triage.undo_reviewed(db, clinician, patient_id)
    return Response(None, status_code=204, headers=NO_STORE)


@post(
    "/api/v1/patients/{patient_id:uuid}/ashworth",
    tags=["clinician workspace"],
    status_code=201,
    summary="Record a Modified Ashworth grade (clinicians only)",
    dependencies=CLINICIAN,
)
async def add_ashworth(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, data: AshworthIn
) -> Response[AshworthOut]:
    await require_link(db, clinician, patient_id, "annotate", "ashworth.create", address=client_address(request))
    return Response(await triage.add_ashworth(db, clinician, patient_id, data), status_code=201, headers=NO_STORE)


@get(
    "/api/v1/patients/{patient_id:uuid}/ashworth",
    tags=["clinician workspace"],
    summary="A linked patient's Modified Ashworth grades",
    dependencies=CLINICIAN,
)
async def list_ashworth(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[list[AshworthOut]]:
    await require_link(db, clinician, patient_id, "view", "ashworth.read", address=client_address(request))
    return Response(await triage.ashworth_grades(db, patient_id), headers=NO_STORE)


ROUTES: list[Any] = [
    invite,
    redeem,
    offer,
    accept,
    list_links,
    revoke,
    access_history,
    export_everything,
    export_fhir,
    my_csv_export,
    clinician_fhir_export,
    clinician_csv_export,
    triage_list,
    mark_reviewed,
    undo_reviewed,
    add_ashworth,
    list_ashworth,
]
