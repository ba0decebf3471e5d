"""What clinicians and the patient do with flags: acknowledge, snooze, resolve, set a patient's thresholds; "I've read
this", the trigger checklist.

Shared by the JSON API and the pages. Each judgment records the signs it saw (``judged_signs``, ``read_signs``), so
that it stands for exactly that evidence: the same entries never bring the flag back, new ones do (CLINICAL.md (a),
note 5).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.flags.engine import RULES, threshold_problems
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, ThresholdOverride
from backend.flags.rules.base import renewed
from backend.flags.schemas import ThresholdsIn
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid, not_found

MAX_SNOOZE_DAYS = 90


async def _flag(db: AsyncSession, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
    flag = await db.get(Flag, (patient_id, flag_id))
    if flag is None:
        raise not_found("flag")
    return flag


async def live_flag(db: AsyncSession, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
    flag = await _flag(db, patient_id, flag_id)
    if flag.status == "resolved":
        raise Problem(409, "This flag is already resolved.", code="flag-resolved")
    return flag


def _judge(db: AsyncSession, flag: Flag, clinician: Principal, action: str, now: dt.datetime, note: str | None) -> None:
    flag.judged_signs, flag.judged_at, flag.updated_at = list(flag.signs or []), now, now
    actor = clinician.user_id
    db.add(FlagEvent(patient_id=flag.patient_id, flag_id=flag.id, at=now, action=action, actor_id=actor, note=note))


async def acknowledge(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
    flag = await live_flag(db, patient_id, flag_id)
    now = utcnow()
    flag.status, flag.acknowledged_at, flag.acknowledged_by = "acknowledged", now, clinician.user_id
    _judge(db, flag, clinician, "acknowledged", now, None)
    await db.commit()
    return flag


async def snooze(
    db: AsyncSession,
    clinician: Principal,
    patient_id: uuid.UUID,
    flag_id: uuid.UUID,
    until: dt.datetime,
    note: str | None = None,
) -> Flag:
    """Hides a flag from the triage list until a time; new signs bring it back before then."""
    now = utcnow()
    if until <= now or until - now > dt.timedelta(days=MAX_SNOOZE_DAYS):
        raise invalid([FieldError("until", f"must be in the future, at most {MAX_SNOOZE_DAYS} days ahead")])
    flag = await live_flag(db, patient_id, flag_id)
    if flag.urgency == "urgent":
        raise Problem(409, "Urgent flags cannot be snoozed; acknowledge or resolve them.", code="urgent-no-snooze")
    flag.status, flag.snoozed_until = "snoozed", until
    _judge(db, flag, clinician, "snoozed", now, note)
    await db.commit()
    return flag


async def resolve(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, flag_id: uuid.UUID, note: str) -> Flag:
    if not note.strip():
        raise invalid([FieldError("note", "say what was done or decided")])
    flag = await live_flag(db, patient_id, flag_id)
    now = utcnow()
    flag.status, flag.resolved_at, flag.resolved_by = "resolved", now, clinician.user_id
    flag.resolution_note = note.strip()[:2000]
    _judge(db, flag, clinician, "resolved", now, flag.resolution_note)
    await db.commit()
    return flag


async def mark_read(db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Flag:
    """The patient's "I've read this": the flag folds away on their pages until new signs arrive."""
    flag = await live_flag(db, patient.user_id, flag_id)
    now = utcnow()
    flag.read_signs, flag.read_at = list(flag.signs or []), now
    db.add(FlagEvent(patient_id=flag.patient_id, flag_id=flag.id, at=now, action="read", actor_id=patient.user_id))
    await db.commit()
    return flag


async def checklist_done(db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Flag:
    """The patient went through the trigger checklist of a sudden increase (S3; S6 counts from here)."""
    flag = await _flag(db, patient.user_id, flag_id)
    if flag.rule_id != "S3" or flag.status not in LIVE_STATUSES:
        raise Problem(409, "Only a live 'sudden increase' flag has a trigger checklist.", code="no-checklist")
    now = utcnow()
    flag.patient_checked_at = flag.patient_checked_at or now
    db.add(
        FlagEvent(
            patient_id=patient.user_id, flag_id=flag.id, at=now, action="checklist-done", actor_id=patient.user_id
        )
    )
    await db.commit()
    return flag


def unread(flag: Flag) -> bool:
    """Whether the patient has not read this flag as it stands (never read, or new signs since)."""
    if flag.read_signs is None:
        return True
    rule = RULES.get(flag.rule_id)
    return rule is not None and renewed(rule.renewal, flag.signs or [], flag.read_signs)


async def set_thresholds(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, rule_id: str, data: ThresholdsIn
) -> dict[str, Any]:
    """A clinician's thresholds for one rule and one patient; every value within the range the rule declares."""
    rule = RULES.get(rule_id)
    if rule is None:
        raise not_found("rule")
    problems = threshold_problems(rule, data.thresholds)
    if problems:
        raise invalid([FieldError(f"thresholds.{name}", reason) for name, reason in problems.items()])
    values = dict(data.thresholds)
    if data.enabled is not None:
        values["enabled"] = 1.0 if data.enabled else 0.0
    now = utcnow()
    row = await db.get(ThresholdOverride, (patient_id, rule_id))
    if row is None:
        db.add(
            ThresholdOverride(
                patient_id=patient_id, rule_id=rule_id, thresholds=values, set_by=clinician.user_id, set_at=now
            )
        )
    else:
        row.thresholds, row.set_by, row.set_at = values, clinician.user_id, now
    await db.commit()
    return {"rule_id": rule_id, "thresholds": {**rule.defaults, **data.thresholds}, "enabled": data.enabled}
