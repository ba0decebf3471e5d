"""Data rights: take everything with you (GDPR Art. 20, HIPAA 164.524) and erase your account (GDPR Art. 17).

Erasure removes the person and every row that belongs to them (the foreign keys cascade: diary, flags, links,
sessions). The audit log keeps its rows, which hold ids, actions and times but never diary content, because a record
of who accessed health data is itself a legal obligation (GDPR Art. 17(3)(b)).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get
from litestar.datastructures import Cookie
from litestar.di import Provide
from msgspec import Meta
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import services
from backend.accounts.cookies import cleared_session_cookie
from backend.accounts.models import User
from backend.care.fhir import load_bundle
from backend.config import Settings
from backend.diary import records
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.flags.models import Flag
from backend.shared.access import CareLink
from backend.shared.audit import AuditEvent, audit_event
from backend.shared.dependencies import provide_patient
from backend.shared.limits import RateCounter
from backend.shared.principal import Principal, client_address
from backend.shared.problems import Problem
from backend.shared.schemas import Input


class EraseIn(Input, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, Meta(max_length=4096)]
    confirm: Annotated[str, Meta(description='Type "erase my account" to confirm')]


def _tombstone(row: Episode | Regimen) -> dict[str, Any]:
    return {"id": str(row.id), "deleted_at": row.deleted_at.isoformat() if row.deleted_at else None}


@get("/api/v1/export", tags=["data rights"], summary="Everything the service holds about me, as JSON")
async def export_everything(
    request: Request[Any, Any, Any], db: AsyncSession, principal: Principal
) -> Response[dict[str, Any]]:
    me = principal.user_id
    user = await db.get(User, me)
    assert user is not None
    body: dict[str, Any] = {
        "format": "spasm-diary-export/1",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "account": {
            "id": str(user.id),
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "created_at": user.created_at.isoformat(),
        },
    }
    if principal.is_patient:
        profile = await db.get(PatientProfile, me)
        episodes = (
            await db.execute(select(Episode).where(Episode.patient_id == me).order_by(Episode.started_at))
        ).scalars()
        regimens = (
            await db.execute(select(Regimen).where(Regimen.patient_id == me).order_by(Regimen.start_date))
        ).scalars()
        episode_rows = list(episodes)
        regimen_rows = list(regimens)
        checkins = (await db.execute(select(CheckIn).where(CheckIn.patient_id == me).order_by(CheckIn.day))).scalars()
        penn = (
            await db.execute(select(PennRating).where(PennRating.patient_id == me).order_by(PennRating.week))
        ).scalars()
        flags = (await db.execute(select(Flag).where(Flag.patient_id == me).order_by(Flag.opened_at))).scalars()
        body["profile"] = msgspec.to_builtins(records.profile_out(profile)) if profile else None
        body["episodes"] = [msgspec.to_builtins(records.episode_out(e)) for e in episode_rows if e.deleted_at is None]
        body["deleted_episodes"] = [_tombstone(e) for e in episode_rows if e.deleted_at is not None]
        body["checkins"] = [msgspec.to_builtins(records.checkin_out(c)) for c in checkins]
        body["penn_ratings"] = [msgspec.to_builtins(records.penn_out(p)) for p in penn]
        body["regimens"] = [msgspec.to_builtins(records.regimen_out(r)) for r in regimen_rows if r.deleted_at is None]
        body["flags"] = [
            {"rule_id": f.rule_id, "urgency": f.urgency, "status": f.status, "message": f.patient_message,
             "opened_at": f.opened_at.isoformat(), "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None}
            for f in flags
        ]  # fmt: skip
        links = (await db.execute(select(CareLink).where(CareLink.patient_id == me))).scalars()
        body["care_links"] = [{"clinician_id": str(link.clinician_id), "status": link.status, "scopes": link.scopes,
                               "consented_at": link.consented_at.isoformat() if link.consented_at else None}
                              for link in links]  # fmt: skip
        access = (
            await db.execute(select(AuditEvent).where(AuditEvent.patient_id == me).order_by(AuditEvent.at))
        ).scalars()
        body["access_history"] = [{"at": a.at.isoformat(), "actor_id": str(a.actor_id) if a.actor_id else None,
                                   "actor_role": a.actor_role, "action": a.action, "outcome": a.outcome}
                                  for a in access]  # fmt: skip
    db.add(audit_event(principal, "export.json", patient_id=me if principal.is_patient else None,
                       address=client_address(request)))  # fmt: skip
    await db.commit()
    stamp = dt.date.today().isoformat()
    encoded: Any = msgspec.json.encode(body)  # sent as bytes; documented as the object it holds
    return Response(
        encoded,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="spasm-diary-{stamp}.json"',
            "Cache-Control": "no-store",
        },
    )


FHIR_JSON = "application/fhir+json"


@get("/api/v1/export/fhir", tags=["data rights"], summary="My diary as an HL7 FHIR R4 Bundle", media_type=FHIR_JSON,
     dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def export_fhir(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Response[dict[str, Any]]:
    bundle = await load_bundle(db, patient.user_id, settings.base_url)
    db.add(audit_event(patient, "export.fhir", patient_id=patient.user_id, address=client_address(request)))
    await db.commit()
    encoded: Any = msgspec.json.encode(bundle)
    return Response(encoded, media_type=FHIR_JSON, headers={
        "Content-Disposition": 'attachment; filename="spasm-diary-fhir.json"', "Cache-Control": "no-store"})  # fmt: skip


@delete("/api/v1/account", tags=["data rights"], status_code=204, summary="Erase my account and everything in it")
async def erase_account(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, principal: Principal, data: EraseIn
) -> Response[None]:
    if data.confirm.strip().lower() != "erase my account":
        raise Problem(422, 'Type "erase my account" to confirm.', code="confirmation-needed")
    user = await services.authenticate(db, principal.email, data.password)
    if user is None:
        raise Problem(403, "That password is not right. Nothing was erased.", code="bad-password")
    # One transaction: either everything goes, or nothing does.
    await db.execute(sql_delete(RateCounter).where(RateCounter.key == f"reset-mail:{principal.user_id}"))
    await db.execute(sql_delete(User).where(User.id == principal.user_id))
    db.add(audit_event(None, "account.erase", patient_id=principal.user_id if principal.is_patient else None,
                       entity=f"user:{principal.user_id}", address=client_address(request)))  # fmt: skip
    await db.commit()
    anon = Cookie(key="spasm_csrf", value="", path="/", max_age=0)
    return Response(None, status_code=204, cookies=[cleared_session_cookie(settings), anon],
                    headers={"Clear-Site-Data": '"cache", "cookies", "storage"'})  # fmt: skip


RIGHTS_ROUTES: list[Any] = [export_everything, export_fhir, erase_account]
