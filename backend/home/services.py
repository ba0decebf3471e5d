"""What each role's home page shows, gathered from the areas: a patient's week at a glance (their flags, their last
entries, what is due) and a clinician's triage list (care/triage.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary import records
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating
from backend.diary.records import zone_of
from backend.flags import lifecycle
from backend.flags.models import Flag
from backend.flags.reading import flags_of
from backend.reminders.services import inbox
from backend.shared.principal import Principal


@dataclass(frozen=True, slots=True)
class PatientWeek:
    recent: list[Episode]  # the last ten episodes
    week_count: int  # episodes in the last seven days
    days_logged: int  # check-ins in the last seven local days
    checked_in_today: bool
    unread: list[Flag]  # live flags not yet read, most urgent first
    read: list[Flag]
    reminders_due: int  # the inbox's due reminders not yet marked done
    penn_due: bool  # Friday or later and this week not rated yet


async def patient_week(db: AsyncSession, me: Principal, profile: PatientProfile, now: dt.datetime) -> PatientWeek:
    today = now.astimezone(zone_of(profile)).date()
    mine = Episode.patient_id == me.user_id, Episode.deleted_at.is_(None)
    recent = select(Episode).where(*mine).order_by(Episode.started_at.desc()).limit(10)
    in_week = select(func.count()).select_from(Episode).where(*mine, Episode.started_at >= now - dt.timedelta(days=7))
    logged = (
        select(func.count())
        .select_from(CheckIn)
        .where(CheckIn.patient_id == me.user_id, CheckIn.day > today - dt.timedelta(days=7))
    )
    flags = await flags_of(db, me.user_id, "live")
    due = (await inbox(db, me.user_id, now)).due
    return PatientWeek(
        recent=list((await db.execute(recent)).scalars()),
        week_count=(await db.execute(in_week)).scalar_one(),
        days_logged=(await db.execute(logged)).scalar_one(),
        checked_in_today=await db.get(CheckIn, (me.user_id, today)) is not None,
        unread=[f for f in flags if lifecycle.unread(f)],
        read=[f for f in flags if not lifecycle.unread(f)],
        reminders_due=sum(1 for r in due if not r.acknowledged),
        penn_due=today.isoweekday() >= 5 and await db.get(PennRating, (me.user_id, records.iso_week(today))) is None,
    )
