"""Taking everything away: the patient's whole record as JSON (GDPR Art. 20, HIPAA 164.524), and the diary as CSV
or an HL7 FHIR R4 Bundle (csv_export.py, fhir.py), for the patient or a linked clinician with the export scope."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.diary import records
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.flags.models import Flag
from backend.shared.access import CareLink
from backend.shared.audit import AuditEvent
from backend.shared.principal import Principal

FORMAT = "spasm-diary-export/1"


def _tombstone(row: Episode | Regimen) -> dict[str, Any]:
    return {"id": str(row.id), "deleted_at": row.deleted_at.isoformat() if row.deleted_at else None}


async def everything(db: AsyncSession, principal: Principal) -> dict[str, Any]:
    """Everything the service holds about the person (a patient's whole diary; a clinician's account)."""
    me: uuid.UUID = principal.user_id
    user = await db.get(User, me)
    assert user is not None
    body: dict[str, Any] = {
        "format": FORMAT,
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
            {
                "rule_id": f.rule_id,
                "urgency": f.urgency,
                "status": f.status,
                "message": f.patient_message,
                "opened_at": f.opened_at.isoformat(),
                "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None,
            }
            for f in flags
        ]
        links = (await db.execute(select(CareLink).where(CareLink.patient_id == me))).scalars()
        body["care_links"] = [
            {
                "clinician_id": str(link.clinician_id),
                "status": link.status,
                "scopes": link.scopes,
                "consented_at": link.consented_at.isoformat() if link.consented_at else None,
            }
            for link in links
        ]
        access = (
            await db.execute(select(AuditEvent).where(AuditEvent.patient_id == me).order_by(AuditEvent.at))
        ).scalars()
        body["access_history"] = [
            {
                "at": a.at.isoformat(),
                "actor_id": str(a.actor_id) if a.actor_id else None,
                "actor_role": a.actor_role,
                "action": a.action,
                "outcome": a.outcome,
            }
            for a in access
        ]
    return body
