"""The follow-up rules' part in every diary write (the diary's Safety and Screen, backend/diary/safety.py).

The diary cannot import the rules (they build on it), so the app gives it these objects: the urgent rules run on a
write before its answer, their advice comes back in the patient's language, and the rest of the rules are scheduled
for after the answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import CheckIn, PatientProfile
from backend.diary.schemas import SafetyNotice
from backend.flags import services
from backend.flags.evaluator import Evaluator
from backend.flags.models import ThresholdOverride
from backend.flags.rows import day_from_row, episode_from_row
from backend.flags.screen import screen_row
from backend.flags.wording import patient_words
from backend.shared.principal import Principal


class FlagSafety:
    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    async def after_episode(
        self, db: AsyncSession, patient: Principal, row: Any, now: dt.datetime
    ) -> list[SafetyNotice]:
        checked = await services.urgent_check(db, patient.user_id, now, episode=episode_from_row(row))
        return await self._notices(db, patient, checked, episode_id=row.id) if checked else []

    async def after_checkin(
        self, db: AsyncSession, patient: Principal, row: CheckIn, now: dt.datetime
    ) -> list[SafetyNotice]:
        checked = await services.urgent_check(db, patient.user_id, now, day=day_from_row(row))
        return await self._notices(db, patient, checked, day=row.day) if checked else []

    async def notices(
        self, db: AsyncSession, patient: Principal, *, episode_id: uuid.UUID | None = None, day: dt.date | None = None
    ) -> list[SafetyNotice]:
        return await self._notices(db, patient, [], episode_id=episode_id, day=day)

    async def _notices(
        self,
        db: AsyncSession,
        patient: Principal,
        checked: list[services.SafetyNotice],
        *,
        episode_id: uuid.UUID | None = None,
        day: dt.date | None = None,
    ) -> list[SafetyNotice]:
        """The live urgent advice resting on the entry, and the notice of an urgent rule that could not be checked
        just now, in the patient's language."""
        found = await services.safety_for(db, patient.user_id, episode_id=episode_id, day=day)
        found += [n for n in checked if n.unchecked]
        if not found:
            return []
        language = patient.language or await _language(db, patient.user_id)
        return [
            SafetyNotice(rule_id=n.rule_id, urgency=n.urgency, message=patient_words(n.rule_id, n.message, language))
            for n in found
        ]

    def schedule(self, patient_id: uuid.UUID) -> None:
        self.evaluator.schedule(patient_id)


async def _language(db: AsyncSession, patient_id: uuid.UUID) -> str:
    profile = await db.get(PatientProfile, patient_id)
    return profile.language if profile else "en"


class WriteScreen:
    """The grouped writer's screen of each written episode: the patient's profile and whether any threshold is
    theirs (one query for the batch), then ``screen.screen_row``."""

    statement: Select[Any] = select(
        PatientProfile.__table__,
        select(ThresholdOverride.rule_id)
        .where(ThresholdOverride.patient_id == PatientProfile.patient_id)
        .limit(1)
        .scalar_subquery()
        .label("any_override"),
    ).where(PatientProfile.patient_id.in_(bindparam("patients", expanding=True)))

    def needs_check(self, patient: Any, row: Any, now: dt.datetime) -> bool:
        any_override = patient is not None and patient.any_override is not None
        return screen_row(patient, any_override, row, now)
