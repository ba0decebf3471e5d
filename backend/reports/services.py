"""What the clinician's report shows for one patient: the summary of the period (summary.py, pure), the flags with
their history, ratings, the treatment plan, Ashworth grades, charts and the follow-ups ahead."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import AshworthGrade
from backend.db import utcnow
from backend.diary.catalog import CONDITIONS
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.flags.diaries import load_diary
from backend.flags.engine import RULE_SET_VERSION
from backend.flags.measures import psfs_band_from_log
from backend.flags.models import Flag
from backend.flags.reading import flag_histories, rule_failures
from backend.flags.rules.base import URGENCY_RANK
from backend.reminders.models import Appointment
from backend.reports import summary
from backend.shared import charts


async def report_context(db: AsyncSession, patient_id: uuid.UUID, days: int) -> dict[str, Any]:
    now = utcnow()
    diary, _ = await load_diary(db, patient_id, now, window_days=days + 28)
    user = await db.get(User, patient_id)
    profile = await db.get(PatientProfile, patient_id)
    first = diary.today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), dt.UTC)
    notes = [
        (e.started_at, e.note)
        for e in (
            await db.execute(
                select(Episode)
                .where(
                    Episode.patient_id == patient_id,
                    Episode.deleted_at.is_(None),
                    Episode.started_at >= start,
                    Episode.note.is_not(None),
                )
                .order_by(Episode.started_at)
            )
        ).scalars()
        if e.note
    ]
    notes += [
        (dt.datetime.combine(c.day, dt.time(), dt.UTC), c.note)
        for c in (
            await db.execute(
                select(CheckIn).where(CheckIn.patient_id == patient_id, CheckIn.day >= first, CheckIn.note.is_not(None))
            )
        ).scalars()
        if c.note
    ]
    report = summary.build(diary, days, sorted(notes))
    flags = (await db.execute(select(Flag).where(Flag.patient_id == patient_id))).scalars().all()
    shown = sorted(
        [f for f in flags if f.status != "resolved" or (f.resolved_at and f.resolved_at.date() >= first)],
        key=lambda f: (URGENCY_RANK[f.urgency], f.status == "resolved", -f.updated_at.timestamp()),
    )
    histories, names = await flag_histories(db, patient_id, shown)
    earlier = {f.id: f for f in flags}
    first_week = f"{first.isocalendar().year}-W{first.isocalendar().week:02d}"
    penn = (
        (
            await db.execute(
                select(PennRating)
                .where(PennRating.patient_id == patient_id, PennRating.week >= first_week)
                .order_by(PennRating.week)
            )
        )
        .scalars()
        .all()
    )
    plan_rows = (
        (
            await db.execute(
                select(Regimen)
                .where(Regimen.patient_id == patient_id, Regimen.deleted_at.is_(None))
                .order_by(Regimen.start_date)
            )
        )
        .scalars()
        .all()
    )
    ashworth = (
        (
            await db.execute(
                select(AshworthGrade)
                .where(AshworthGrade.patient_id == patient_id)
                .order_by(AshworthGrade.assessed_on.desc())
                .limit(12)
            )
        )
        .scalars()
        .all()
    )
    return {
        "patient": user,
        "profile": profile,
        "r": report,
        "flags": shown,
        "penn": penn,
        "plan_rows": plan_rows,
        "ashworth": ashworth,
        "one_day": dt.timedelta(days=1),
        "rule_set": RULE_SET_VERSION,
        "histories": histories,
        "names": names,
        "earlier": earlier,
        "unchecked": await rule_failures(db, patient_id),
        "conditions": ", ".join(CONDITIONS[c] for c in (profile.conditions if profile else [])),
        "psfs_from_log": psfs_band_from_log(diary),
        "daily_chart": charts.daily_chart(report.daily, report.daily_ma, report.plans, "Episodes per day"),
        "stiffness_chart": charts.nrs_chart(report.daily_stiffness, "Daily stiffness, 0-10, with 7-day average"),
        "weekly_chart": charts.bars([(w.strftime("%d %b"), n) for w, n in report.weekly], "Episodes per week"),
        "parts_chart": charts.bars(report.day_parts, "Episodes by part of the day"),
        "hours_chart": charts.bars([(f"{h:02d}", n) for h, n in enumerate(report.hours)], "Episodes by hour"),
    }


async def upcoming_appointments(db: AsyncSession, patient_id: uuid.UUID) -> list[Appointment]:
    query = (
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.cancelled_at.is_(None),
            Appointment.starts_at > utcnow(),
        )
        .order_by(Appointment.starts_at)
    )
    return list((await db.execute(query)).scalars())
