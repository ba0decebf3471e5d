"""What the diary asks of the follow-up rules around every write, without importing them.

The rules (backend/flags) build on the diary, so the diary cannot call them: the app hands the diary an object with
these methods (backend/flags/safety.py), and the grouped writer a screen. Safety comes first: an entry with a warning
sign gets its advice in the answer to that very write, so every write asks ``after_episode`` or ``after_checkin``
before it answers, and ``schedule`` the rest of the rules for after the answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import CheckIn
from backend.diary.schemas import SafetyNotice
from backend.shared.principal import Principal


@runtime_checkable
class Safety(Protocol):
    async def after_episode(
        self, db: AsyncSession, patient: Principal, row: Any, now: dt.datetime
    ) -> list[SafetyNotice]:
        """The urgent advice for a written episode (``row`` has an Episode row's attributes), in the patient's
        language; called only when the writer's screen could not clear the write."""
        ...

    async def after_checkin(
        self, db: AsyncSession, patient: Principal, row: CheckIn, now: dt.datetime
    ) -> list[SafetyNotice]:
        """The urgent advice for a written check-in, in the patient's language."""
        ...

    async def notices(
        self, db: AsyncSession, patient: Principal, *, episode_id: uuid.UUID | None = None, day: dt.date | None = None
    ) -> list[SafetyNotice]:
        """The urgent advice in force that rests on one stored entry (shown beside it whenever it is read)."""
        ...

    def schedule(self, patient_id: uuid.UUID) -> None:
        """The rest of the rules, after the answer (once per burst of writes)."""
        ...


@runtime_checkable
class Screen(Protocol):
    """The grouped writer's screen: whether a write needs ``Safety.after_episode`` before its answer. Pure and
    synchronous, for the writer's thread; fails safe (True) whenever it cannot tell."""

    statement: Select[
        Any
    ]  # what the screen needs of the batch's patients (bind parameter "patients"); rows by patient_id

    def needs_check(self, patient: Any, row: Any, now: dt.datetime) -> bool: ...
