"""Loading the slice of patients' diaries that the follow-up rules read, in a handful of queries for a whole batch."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.diary.models import CheckIn, Dose, Episode, PatientProfile, Regimen
from backend.flags.engine import rules_for
from backend.flags.models import LIVE_STATUSES, Flag, ThresholdOverride
from backend.flags.rows import day_from_row, episode_from_row, patient_from
from backend.flags.rules.treatment import TRIAL_KINDS
from backend.flags.screen import SPIKE_RULES
from backend.flags.window import Day, Diary, DoseAnswer, Ep, Plan

# The longest look-back of any rule: R6 compares two 4-week windows, S3/R6 baselines reach 28 days before a 14-day
# window. Urgent rules need a week plus the S3 baseline for U7/U10.
FULL_WINDOW_DAYS = 60
URGENT_WINDOW_DAYS = 8
SPIKE_WINDOW_DAYS = 35


EPISODE_COLUMNS = (
    Episode.id,
    Episode.kind,
    Episode.started_at,
    Episode.start_offset,
    Episode.intensity,
    Episode.duration_seconds,
    Episode.ended_at,
    Episode.ongoing,
    Episode.body_sites,
    Episode.woke_from_sleep,
    Episode.triggers,
    Episode.symptoms,
    Episode.context,
    Episode.treatments,
)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


async def _first_entries(
    db: AsyncSession, ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, dt.datetime], dict[uuid.UUID, dt.date]]:
    """The first episode and the first check-in of each patient's whole diary. Each is one step down an index per
    patient (a first row in order, not an aggregate over the years), so a five-year diary costs what a new one does."""
    first_episode = (
        select(Episode.started_at)
        .where(Episode.patient_id == PatientProfile.patient_id, Episode.deleted_at.is_(None))
        .order_by(Episode.started_at)
        .limit(1)
        .scalar_subquery()
    )
    first_checkin = (
        select(CheckIn.day)
        .where(CheckIn.patient_id == PatientProfile.patient_id)
        .order_by(CheckIn.day)
        .limit(1)
        .scalar_subquery()
    )
    rows = (
        await db.execute(
            select(PatientProfile.patient_id, first_episode, first_checkin).where(PatientProfile.patient_id.in_(ids))
        )
    ).all()
    return {r[0]: r[1] for r in rows if r[1] is not None}, {r[0]: r[2] for r in rows if r[2] is not None}


async def load_diaries(
    db: AsyncSession,
    patient_ids: list[uuid.UUID],
    now: dt.datetime,
    *,
    urgent_only: bool = False,
    window_days: int | None = None,
) -> dict[uuid.UUID, tuple[Diary, dict[str, dict[str, float]]]]:
    """The slice of each patient's diary the rules need, in a handful of queries for the whole batch.

    The urgent path (inside a write's request) reads only the last week (five weeks when the patient's rules include
    a spasticity-spike test), and skips what only the slower rules read: the treatment plan, earlier flags and where
    the diary began."""
    ids = list(dict.fromkeys(patient_ids))
    profiles = {
        row[0].patient_id: (row[0], row[1])
        for row in await db.execute(
            select(PatientProfile, User.created_at)
            .join(User, User.id == PatientProfile.patient_id)
            .where(PatientProfile.patient_id.in_(ids))
        )
    }
    overrides: dict[uuid.UUID, dict[str, dict[str, float]]] = {pid: {} for pid in ids}
    for o in (await db.execute(select(ThresholdOverride).where(ThresholdOverride.patient_id.in_(ids)))).scalars():
        overrides[o.patient_id][o.rule_id] = dict(o.thresholds)
    first_episode, first_checkin = await _first_entries(db, ids) if not urgent_only else ({}, {})
    patients = {}
    window: dict[uuid.UUID, int] = {}
    for pid in ids:
        profile, created_at = profiles.get(pid, (None, None))
        zone = _zone(profile.time_zone if profile else "UTC")
        first_day = first_episode[pid].astimezone(zone).date() if pid in first_episode else None
        # Enrolment is the earlier of the account's creation and the first diary day (R11, baselines).
        starts = [d for d in (created_at.date() if created_at else None, first_day, first_checkin.get(pid)) if d]
        patients[pid] = patient_from(profile, min(starts) if starts else None, overrides[pid], first_day)
        days = window_days or FULL_WINDOW_DAYS
        if urgent_only:
            probe = Diary(now=now, patient=patients[pid])
            days = SPIKE_WINDOW_DAYS if any(r.id in SPIKE_RULES for r in rules_for(probe)) else URGENT_WINDOW_DAYS
        window[pid] = days
    since = {pid: now - dt.timedelta(days=days + 1) for pid, days in window.items()}
    earliest = min(since.values())
    plans: dict[uuid.UUID, list[Plan]] = {pid: [] for pid in ids}
    if not urgent_only:
        for r in (
            await db.execute(select(Regimen).where(Regimen.patient_id.in_(ids), Regimen.deleted_at.is_(None)))
        ).scalars():
            plans[r.patient_id].append(
                Plan(r.id, r.kind, r.name, r.start_date, r.stop_date, r.stopped_by_clinician, tuple(r.times or ()))
            )
    episodes: dict[uuid.UUID, list[Ep]] = {pid: [] for pid in ids}
    checkins: dict[uuid.UUID, list[Day]] = {pid: [] for pid in ids}
    episode_when: list[Any] = [and_(Episode.patient_id.in_(ids), Episode.started_at >= earliest)]
    checkin_when: list[Any] = [and_(CheckIn.patient_id.in_(ids), CheckIn.day >= earliest.date())]
    # R7 compares the 14 days before a treatment started, however long ago that was.
    for pid, patient_plans in plans.items():
        for p in patient_plans:
            if p.kind in TRIAL_KINDS and p.start < since[pid].date():
                low = dt.datetime.combine(p.start - dt.timedelta(days=15), dt.time(), dt.UTC)
                high = dt.datetime.combine(p.start + dt.timedelta(days=1), dt.time(), dt.UTC)
                episode_when.append(
                    and_(Episode.patient_id == pid, Episode.started_at >= low, Episode.started_at < high)
                )
                checkin_when.append(and_(CheckIn.patient_id == pid, CheckIn.day >= low.date(), CheckIn.day <= p.start))
    seen: set[uuid.UUID] = set()
    for row in await db.execute(
        select(Episode.patient_id, *EPISODE_COLUMNS).where(Episode.deleted_at.is_(None), or_(*episode_when))
    ):
        if row.id not in seen:
            seen.add(row.id)
            episodes[row.patient_id].append(episode_from_row(row))
    seen_days: set[tuple[uuid.UUID, dt.date]] = set()
    for c in (await db.execute(select(CheckIn).where(or_(*checkin_when)))).scalars():
        if (c.patient_id, c.day) not in seen_days:
            seen_days.add((c.patient_id, c.day))
            checkins[c.patient_id].append(day_from_row(c))
    doses: dict[uuid.UUID, list[DoseAnswer]] = {pid: [] for pid in ids}
    if not urgent_only:  # the adherence rules (R10, S5) are not urgent ones
        for d in (
            await db.execute(
                select(Dose.patient_id, Dose.regimen_id, Dose.day, Dose.time, Dose.status).where(
                    Dose.patient_id.in_(ids), Dose.day >= earliest.date()
                )
            )
        ).all():
            doses[d.patient_id].append(DoseAnswer(d.regimen_id, d.day, d.time, d.status))
    relapses: dict[uuid.UUID, list[dt.date]] = {pid: [] for pid in ids}
    checked: dict[uuid.UUID, list[dt.date]] = {pid: [] for pid in ids}
    if not urgent_only:
        for f in (
            await db.execute(select(Flag).where(Flag.patient_id.in_(ids), Flag.rule_id.in_(["S3", "S4"])))
        ).scalars():
            if f.rule_id == "S4":
                relapses[f.patient_id].append(f.opened_at.date())
            elif f.status in LIVE_STATUSES and f.patient_checked_at:
                checked[f.patient_id].append(f.patient_checked_at.date())
    out = {}
    for pid in ids:
        own = [e for e in episodes[pid] if e.start >= since[pid] or not urgent_only]
        diary = Diary(
            now=now,
            patient=patients[pid],
            episodes=tuple(sorted(own, key=lambda e: (e.start, e.id))),
            checkins=tuple(sorted(checkins[pid], key=lambda c: c.day)),
            plans=tuple(plans[pid]),
            doses=tuple(sorted(doses[pid], key=lambda d: (d.day, d.time))),
            last_relapse_on=max(relapses[pid]) if relapses[pid] else None,
            spike_checklist_done_on=max(checked[pid]) if checked[pid] else None,
        )
        out[pid] = (diary, overrides[pid])
    return out


async def load_diary(
    db: AsyncSession,
    patient_id: uuid.UUID,
    now: dt.datetime,
    *,
    urgent_only: bool = False,
    window_days: int | None = None,
) -> tuple[Diary, dict[str, dict[str, float]]]:
    return (await load_diaries(db, [patient_id], now, urgent_only=urgent_only, window_days=window_days))[patient_id]
