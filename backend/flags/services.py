"""Loading a patient's diary window, running the rules, and keeping their flags in step with what the rules find.

The rules themselves are pure (engine.py); this module is the only place where flags touch the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.accounts.models import User
from backend.diary.models import CheckIn, Episode, PatientProfile, Regimen
from backend.flags.engine import RULES, Evaluation, evaluate, thresholds_for, urgent_ids
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, ThresholdOverride
from backend.flags.rules.base import Finding
from backend.flags.rules.routine import TRIAL_KINDS
from backend.flags.window import Day, Diary, Ep, Patient, Plan

log = logging.getLogger("spasm.flags")

# The longest look-back of any rule: R6 compares two 4-week windows, S3/R6 baselines reach 28 days before a 14-day
# window. Urgent rules need a week plus the S3 baseline for U7/U10.
FULL_WINDOW_DAYS = 60
URGENT_WINDOW_DAYS = 35


@dataclass(frozen=True)
class SafetyNotice:
    rule_id: str
    urgency: str
    message: str


def _episode(row: Any) -> Ep:
    return Ep(
        id=row.id,
        kind=row.kind,
        start=row.started_at,
        offset_minutes=row.start_offset,
        intensity=row.intensity,
        duration_seconds=row.duration_seconds,
        end=row.ended_at,
        ongoing=row.ongoing,
        sites=tuple((b["site"], b["side"]) for b in row.body_sites),
        woke_from_sleep=row.woke_from_sleep,
        triggers=frozenset(row.triggers),
        symptoms=frozenset(row.symptoms),
        context=frozenset(row.context),
        treatments=tuple((t["kind"], t.get("relief"), t.get("minutes_to_relief")) for t in row.treatments),
    )


def _day(row: CheckIn) -> Day:
    return Day(
        day=row.day,
        no_episodes=row.no_episodes,
        stiffness=row.stiffness,
        sleep_disturbance=row.sleep_disturbance,
        pain=row.pain,
        meds_taken=row.meds_taken,
        symptoms=frozenset(row.symptoms),
        systolic_bp=row.systolic_bp,
        temperature_c=row.temperature_c,
        new_or_worse_symptoms=bool(row.new_or_worse_symptoms),
    )


EPISODE_COLUMNS = (
    Episode.id, Episode.kind, Episode.started_at, Episode.start_offset, Episode.intensity, Episode.duration_seconds,
    Episode.ended_at, Episode.ongoing, Episode.body_sites, Episode.woke_from_sleep, Episode.triggers,
    Episode.symptoms, Episode.context, Episode.treatments,
)  # fmt: skip


async def load_diary(
    db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime, days: int
) -> tuple[Diary, dict[str, dict[str, float]]]:
    profile = await db.get(PatientProfile, patient_id)
    user = await db.get(User, patient_id)
    plans_rows = (
        (await db.execute(select(Regimen).where(Regimen.patient_id == patient_id, Regimen.deleted_at.is_(None))))
        .scalars()
        .all()
    )
    plans = tuple(Plan(r.id, r.kind, r.name, r.start_date, r.stop_date, r.stopped_by_clinician) for r in plans_rows)
    since = now - dt.timedelta(days=days + 1)
    # R7 compares the 14 days before a treatment started, however long ago that was.
    trial_starts = [p.start for p in plans if p.kind in TRIAL_KINDS and p.start < since.date()]
    episode_when = [Episode.started_at >= since] + [
        and_(Episode.started_at >= dt.datetime.combine(s - dt.timedelta(days=15), dt.time(), dt.UTC),
             Episode.started_at < dt.datetime.combine(s + dt.timedelta(days=1), dt.time(), dt.UTC))
        for s in trial_starts
    ]  # fmt: skip
    checkin_when = [CheckIn.day >= since.date()] + [
        and_(CheckIn.day >= s - dt.timedelta(days=15), CheckIn.day <= s) for s in trial_starts
    ]
    episode_rows = (
        await db.execute(
            select(*EPISODE_COLUMNS).where(
                Episode.patient_id == patient_id, Episode.deleted_at.is_(None), or_(*episode_when)
            )
        )
    ).all()
    checkin_rows = (
        (await db.execute(select(CheckIn).where(CheckIn.patient_id == patient_id, or_(*checkin_when)))).scalars().all()
    )
    flags = (
        (await db.execute(select(Flag).where(Flag.patient_id == patient_id, Flag.rule_id.in_(["S3", "S4"]))))
        .scalars()
        .all()
    )
    relapses = [f.opened_at.date() for f in flags if f.rule_id == "S4"]
    checked = [f.patient_checked_at.date() for f in flags
               if f.rule_id == "S3" and f.status in LIVE_STATUSES and f.patient_checked_at]  # fmt: skip
    overrides = {
        o.rule_id: dict(o.thresholds)
        for o in (
            await db.execute(select(ThresholdOverride).where(ThresholdOverride.patient_id == patient_id))
        ).scalars()
    }
    patient = Patient(
        conditions=frozenset(profile.conditions if profile else ()),
        time_zone=profile.time_zone if profile else "UTC",
        sci_level=profile.sci_level if profile else None,
        itb_pump=bool(profile and profile.itb_pump),
        itb_refill_date=profile.itb_refill_date if profile else None,
        baseline_systolic=profile.baseline_systolic if profile else None,
        enrolled_on=user.created_at.date() if user else None,
        sleep_start=profile.sleep_start if profile else dt.time(23),
        sleep_end=profile.sleep_end if profile else dt.time(7),
        enabled_rules=frozenset(r for r, o in overrides.items() if o.get("enabled") == 1),
    )
    diary = Diary(
        now=now,
        patient=patient,
        episodes=tuple(sorted((_episode(r) for r in episode_rows), key=lambda e: (e.start, e.id))),
        checkins=tuple(sorted((_day(c) for c in checkin_rows), key=lambda c: c.day)),
        plans=plans,
        last_relapse_on=max(relapses) if relapses else None,
        spike_checklist_done_on=max(checked) if checked else None,
    )
    return diary, overrides


def _evidence(finding: Finding) -> tuple[list[str], list[str]]:
    return sorted(str(i) for i in finding.episode_ids), sorted(d.isoformat() for d in finding.checkin_days)


def _apply(
    db: AsyncSession,
    patient_id: uuid.UUID,
    result: Evaluation,
    live: dict[str, Flag],
    overrides: dict[str, dict[str, float]],
    now: dt.datetime,
) -> None:
    fired = {f.rule_id for f in result.findings}
    for finding in result.findings:
        rule = RULES[finding.rule_id]
        episodes, days = _evidence(finding)
        values = {
            "rule_version": rule.version,
            "urgency": rule.urgency,
            "thresholds": thresholds_for(rule, overrides),
            "window_start": finding.window_start,
            "window_end": finding.window_end,
            "evidence_episodes": episodes,
            "evidence_days": days,
            "patient_message": finding.patient_message,
            "clinician_message": finding.clinician_message,
            "last_fired_at": now,
        }
        flag = live.get(finding.rule_id)
        if flag is None:
            flag = Flag(patient_id=patient_id, id=uuid.uuid4(), rule_id=finding.rule_id, status="open", opened_at=now,
                        updated_at=now, **values)  # fmt: skip
            db.add(flag)
            db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="raised"))
            continue
        changed = (flag.evidence_episodes, flag.evidence_days) != (episodes, days)
        for key, value in values.items():
            setattr(flag, key, value)
        if flag.status == "snoozed" and flag.snoozed_until is not None and flag.snoozed_until <= now:
            flag.status = "open"
            flag.snoozed_until = None
            db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="snooze-ended"))
        if changed:
            flag.updated_at = now
            db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="updated"))
    for rule_id in set(result.evaluated) - fired:
        flag = live.get(rule_id)
        if flag is None:
            continue
        recede = dt.timedelta(days=RULES[rule_id].recede_days)
        if now - flag.last_fired_at >= recede:
            flag.status = "resolved"
            flag.resolved_at = now
            flag.updated_at = now
            flag.resolution_note = f"Closed automatically: the pattern has not been seen for {recede.days} days."
            db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="auto-resolved",
                             note=flag.resolution_note))  # fmt: skip


async def evaluate_patient(
    db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime, *, urgent_only: bool = False
) -> list[SafetyNotice]:
    """Runs the rules for one patient and stores the result; returns the urgent safety messages now in force."""
    for attempt in range(2):
        diary, overrides = await load_diary(
            db, patient_id, now, URGENT_WINDOW_DAYS if urgent_only else FULL_WINDOW_DAYS
        )
        result = evaluate(diary, overrides, only=urgent_ids() if urgent_only else None)
        live = {
            f.rule_id: f
            for f in (
                await db.execute(select(Flag).where(Flag.patient_id == patient_id, Flag.status.in_(LIVE_STATUSES)))
            ).scalars()
        }
        _apply(db, patient_id, result, live, overrides, now)
        try:
            await db.commit()
            break
        except IntegrityError:
            # Another process raised the same flag a moment ago: read it and update it instead.
            await db.rollback()
            if attempt:
                raise
    return [
        SafetyNotice(f.rule_id, RULES[f.rule_id].urgency, f.patient_message)
        for f in result.findings
        if RULES[f.rule_id].urgency == "urgent"
    ]


async def evaluate_in_background(maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID) -> None:
    """The full rule set after a write has been answered; the periodic sweep catches up if this process dies."""
    try:
        async with maker() as db:
            await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC))
    except Exception:
        log.exception("flag evaluation after a write failed; the sweep will retry")


async def sweep(maker: async_sessionmaker[AsyncSession], now: dt.datetime | None = None,
                patient_ids: Iterable[uuid.UUID] | None = None) -> int:  # fmt: skip
    """Re-evaluates every patient, for the rules that depend on time passing (an ongoing episode passing 10 minutes,
    a diary going quiet, a treatment reaching day 28). Returns how many patients were evaluated."""
    now = now or dt.datetime.now(dt.UTC)
    async with maker() as db:
        ids = list(patient_ids) if patient_ids is not None else list(
            (await db.execute(select(PatientProfile.patient_id))).scalars()
        )  # fmt: skip
    done = 0
    for patient_id in ids:
        async with maker() as db:
            try:
                await evaluate_patient(db, patient_id, now)
                done += 1
            except Exception:
                log.exception("sweep: evaluation failed for one patient")
    return done


async def safety_for(db: AsyncSession, patient_id: uuid.UUID, *, episode_id: uuid.UUID | None = None,
                     day: dt.date | None = None) -> list[SafetyNotice]:  # fmt: skip
    """The live urgent flags that rest on one entry: what the patient must read next to that entry."""
    flags = (
        (
            await db.execute(
                select(Flag).where(
                    Flag.patient_id == patient_id, Flag.status.in_(LIVE_STATUSES), Flag.urgency == "urgent"
                )
            )
        )
        .scalars()
        .all()
    )
    key_episode = str(episode_id) if episode_id else None
    key_day = day.isoformat() if day else None
    return [
        SafetyNotice(f.rule_id, f.urgency, f.patient_message)
        for f in sorted(flags, key=lambda f: f.rule_id)
        if (key_episode and key_episode in f.evidence_episodes) or (key_day and key_day in f.evidence_days)
    ]
