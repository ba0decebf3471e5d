"""A clinician's actions on a flag, shared by the JSON API and the report page."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import Principal
from backend.db import utcnow
from backend.flags.models import Flag, FlagEvent
from backend.problems import FieldError, Problem, invalid, not_found


async def live_flag(db: AsyncSession, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
    flag = await db.get(Flag, (patient_id, flag_id))
    if flag is None:
        raise not_found("flag")
    if flag.status == "resolved":
        raise Problem(409, "This flag is already resolved.", code="flag-resolved")
    return flag


async def acknowledge(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
    flag = await live_flag(db, patient_id, flag_id)
    now = utcnow()
    flag.status, flag.acknowledged_at, flag.acknowledged_by, flag.updated_at = (
        "acknowledged",
        now,
        clinician.user_id,
        now,
    )
    db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="acknowledged", actor_id=clinician.user_id))
    await db.commit()
    return flag


async def resolve(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, flag_id: uuid.UUID, note: str) -> Flag:
    if not note.strip():
        raise invalid([FieldError("note", "say what was done or decided")])
    flag = await live_flag(db, patient_id, flag_id)
    now = utcnow()
    flag.status, flag.resolved_at, flag.resolved_by, flag.updated_at = "resolved", now, clinician.user_id, now
    flag.resolution_note = note.strip()[:2000]
    db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="resolved", actor_id=clinician.user_id,
                     note=flag.resolution_note))  # fmt: skip
    await db.commit()
    return flag
