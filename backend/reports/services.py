"""What the clinician's report shows for one patient: the summary of the period (summary.py, pure), the flags with
their history, ratings, the treatment plan, Ashworth grades, charts and the follow-ups ahead."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.ashworth_words import GROUPS, SIDES
from backend.care.models import AshworthGrade
from backend.db import utcnow
from backend.diary.catalog import CONDITIONS
from backend.diary.display import where_text
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.diary.records import zone_of
from backend.flags.diaries import load_diary
from backend.flags.engine import RULE_SET_VERSION, RULES, thresholds_for
from backend.flags.measures import psfs_band_from_log
from backend.flags.models import Flag
from backend.flags.reading import flag_histories, rule_failures
from backend.flags.rules.base import URGENCY_RANK
from backend.reminders.models import Appointment
from backend.reports import summary, wording
from backend.shared import charts
from backend.shared.formats import Formats, on_clock
from backend.shared.i18n import N_, translate

# The summary's day-parts (summary.DAY_PARTS, pure and without the catalogs), in words for the catalogs.
DAY_PART_WORDS = {
    "On waking": N_("On waking"),
    "Morning": N_("Morning"),
    "Lunchtime": N_("Lunchtime"),
    "Afternoon": N_("Afternoon"),
    "Evening": N_("Evening"),
    "Bedtime": N_("Bedtime"),
    "During sleep": N_("During sleep"),
}


async def report_context(db: AsyncSession, patient_id: uuid.UUID, days: int, language: str = "en") -> dict[str, Any]:
    """Everything the report page and its PDF show, in the reader's language and on the patient's clock."""
    now = utcnow()
    diary, overrides = await load_diary(db, patient_id, now, window_days=days + 28)
    user = await db.get(User, patient_id)
    profile = await db.get(PatientProfile, patient_id)
    first = diary.today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), dt.UTC)
    zone = zone_of(profile) if profile else ZoneInfo("UTC")
    fmt = Formats(language)
    # The patient's notes on the patient's clock (an episode's at its time, a check-in's on its day), oldest first.
    notes: list[tuple[dt.datetime, str]] = []
    labels: list[tuple[dt.datetime, str, str]] = []
    for e in (
        await db.execute(
            select(Episode.started_at, Episode.note).where(
                Episode.patient_id == patient_id,
                Episode.deleted_at.is_(None),
                Episode.started_at >= start,
                Episode.note.is_not(None),
            )
        )
    ).all():
        if e.note and on_clock(e.started_at, zone).date() >= first:
            labels.append((e.started_at, fmt.moment_in_zone(e.started_at, zone), e.note))
    for c in (
        await db.execute(
            select(CheckIn.day, CheckIn.note).where(
                CheckIn.patient_id == patient_id, CheckIn.day >= first, CheckIn.note.is_not(None)
            )
        )
    ).all():
        if c.note:
            noon = dt.datetime.combine(c.day, dt.time(12), zone)
            labels.append((noon, translate(language, N_("%(day)s (check-in)")) % {"day": fmt.day(c.day)}, c.note))
    labels.sort(key=lambda x: x[0])
    notes = [(at, text) for at, _, text in labels]
    report = summary.build(diary, days, notes, thresholds_for(RULES["R7"], overrides))
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
    t = functools.partial(translate, language)
    trials = [
        wording.response_words(
            name=trial.plan.name,
            start=fmt.day(trial.plan.start),
            end=fmt.day(report.last),
            after_days=len(trial.response.after),
            basis=trial.response.basis,
            before_stiffness=trial.response.before_stiffness,
            after_stiffness=trial.response.after_stiffness,
            before_per_week=trial.response.before_per_week,
            after_per_week=trial.response.after_per_week,
            improvement=trial.response.improvement,
            verdict=trial.response.verdict,
            cut=trial.nrs_cut if trial.response.basis == "stiffness" else trial.rate_cut,
            language=language,
        )
        + " "
        + t(N_("Next review %(day)s.")) % {"day": fmt.day(trial.next_review)}
        for trial in report.trials
    ]
    weeks = len(report.weekly)
    weekly_title = t(N_("Episodes in each of the %(n)s weeks of 7 days ending %(day)s")) % {
        "n": weeks,
        "day": fmt.day(report.last),
    }
    return {
        "patient": user,
        "profile": profile,
        "zone": zone,
        "r": report,
        "notes": [(label, text) for _, label, text in labels],
        "trials": trials,
        "flags": shown,
        "penn": [(p.week, *wording.penn_words(p.frequency, p.severity, language)) for p in penn],
        "plan_rows": plan_rows,
        "ashworth": [
            (t(GROUPS.get(g.muscle_group, g.muscle_group)), t(SIDES.get(g.side, g.side)), g.grade, g.assessed_on)
            for g in ashworth
        ],
        "one_day": dt.timedelta(days=1),
        "rule_set": RULE_SET_VERSION,
        "histories": histories,
        "names": names,
        "earlier": earlier,
        "unchecked": await rule_failures(db, patient_id),
        "conditions": ", ".join(t(CONDITIONS[c]) for c in (profile.conditions if profile else [])),
        "psfs_from_log": psfs_band_from_log(diary),
        "psfs_from_log_words": wording.penn_words(psfs_band_from_log(diary), None, language)[0],
        "sites": [(where_text(language, [{"site": s, "side": side}]), n) for s, side, n in report.sites],
        "top_triggers": [(t(label), n) for label, n, _, _ in report.triggers[:3]],
        "weekly_title": weekly_title,
        "urgency_words": {k: t(v) for k, v in wording.URGENCY.items()},
        "rule_names": {k: t(v) for k, v in wording.RULE_NAMES.items()},
        "status_words": {k: t(v) for k, v in wording.STATUS.items()},
        "event_words": {k: t(v) for k, v in wording.EVENTS.items()},
        "daily_chart": charts.daily_chart(
            report.daily, report.daily_ma, report.plans, t(N_("Episodes per day, with the 7-day average"))
        ),
        "stiffness_chart": charts.nrs_chart(
            report.daily_stiffness, t(N_("Daily stiffness, 0-10, with the 7-day average"))
        ),
        "weekly_chart": charts.bars([(fmt.day(w, year=False), n) for w, n in report.weekly], weekly_title),
        "parts_chart": charts.bars(
            [(t(DAY_PART_WORDS.get(name, name)), n) for name, n in report.day_parts],
            t(N_("Episodes by part of the day")),
        ),
        "hours_chart": charts.bars(
            [(f"{h:02d}", n) for h, n in enumerate(report.hours)], t(N_("Episodes by hour of the day"))
        ),
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
