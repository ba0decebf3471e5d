"""Loading a patient's diary window, running the rules, and keeping their flags in step with what the rules find.

The rules themselves are pure (engine.py); this module is the only place where flags touch the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
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
from backend.flags.engine import RULES, Evaluation, evaluate, rules_for, thresholds_for, urgent_ids
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, ThresholdOverride
from backend.flags.rules.base import Finding
from backend.flags.rules.routine import TRIAL_KINDS
from backend.flags.window import Day, Diary, Ep, Patient, Plan

log = logging.getLogger("spasm.flags")

# The longest look-back of any rule: R6 compares two 4-week windows, S3/R6 baselines reach 28 days before a 14-day
# window. Urgent rules need a week plus the S3 baseline for U7/U10.
FULL_WINDOW_DAYS = 60
URGENT_WINDOW_DAYS = 8
SPIKE_WINDOW_DAYS = 35
SPIKE_RULES = {"U7", "U10"}  # need the weeks before an entry (a spasticity spike), not just the entry
SWEEP_BATCH = 200


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


def episode_from_row(row: Episode) -> Ep:
    return _episode(row)


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


def patient_from(
    profile: PatientProfile | None, created_at: dt.datetime | None, overrides: dict[str, dict[str, float]]
) -> Patient:
    """What the rules need to know about the patient; a missing profile means no conditions, UTC, a 23-07 night."""
    return Patient(
        conditions=frozenset(profile.conditions if profile else ()),
        time_zone=profile.time_zone if profile else "UTC",
        sci_level=profile.sci_level if profile else None,
        itb_pump=bool(profile and profile.itb_pump),
        itb_refill_date=profile.itb_refill_date if profile else None,
        baseline_systolic=profile.baseline_systolic if profile else None,
        enrolled_on=created_at.date() if created_at else None,
        sleep_start=profile.sleep_start if profile else dt.time(23),
        sleep_end=profile.sleep_end if profile else dt.time(7),
        enabled_rules=frozenset(r for r, o in overrides.items() if o.get("enabled") == 1),
    )


def day_from_row(row: CheckIn) -> Day:
    return _day(row)


EPISODE_COLUMNS = (
    Episode.id, Episode.kind, Episode.started_at, Episode.start_offset, Episode.intensity, Episode.duration_seconds,
    Episode.ended_at, Episode.ongoing, Episode.body_sites, Episode.woke_from_sleep, Episode.triggers,
    Episode.symptoms, Episode.context, Episode.treatments,
)  # fmt: skip


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
    a spasticity-spike test), and skips what only the slower rules read: the treatment plan and earlier flags."""
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
    patients: dict[uuid.UUID, Patient] = {}
    window: dict[uuid.UUID, int] = {}
    for pid in ids:
        profile, created_at = profiles.get(pid, (None, None))
        patients[pid] = patient_from(profile, created_at, overrides[pid])
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
            plans[r.patient_id].append(Plan(r.id, r.kind, r.name, r.start_date, r.stop_date, r.stopped_by_clinician))
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
            episodes[row.patient_id].append(_episode(row))
    seen_days: set[tuple[uuid.UUID, dt.date]] = set()
    for c in (await db.execute(select(CheckIn).where(or_(*checkin_when)))).scalars():
        if (c.patient_id, c.day) not in seen_days:
            seen_days.add((c.patient_id, c.day))
            checkins[c.patient_id].append(_day(c))
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


async def evaluate_patients(
    db: AsyncSession,
    patient_ids: list[uuid.UUID],
    now: dt.datetime,
    *,
    urgent_only: bool = False,
    in_thread: bool = False,
) -> dict[uuid.UUID, list[SafetyNotice]]:
    """Runs the rules for a batch of patients and stores the result in one transaction; returns each patient's
    urgent safety messages now in force. ``in_thread`` runs the rules (pure, and tens of milliseconds over a long
    diary) off the event loop, so that a background evaluation never holds up the requests being served."""
    notices: dict[uuid.UUID, list[SafetyNotice]] = {}
    for attempt in range(2):
        diaries = await load_diaries(db, patient_ids, now, urgent_only=urgent_only)
        live: dict[uuid.UUID, dict[str, Flag]] = {pid: {} for pid in diaries}
        for f in (
            await db.execute(select(Flag).where(Flag.patient_id.in_(list(diaries)), Flag.status.in_(LIVE_STATUSES)))
        ).scalars():
            live[f.patient_id][f.rule_id] = f
        for pid, (diary, overrides) in diaries.items():
            only = urgent_ids() if urgent_only else None
            if in_thread:
                result = await asyncio.to_thread(evaluate, diary, overrides, only=only)
            else:
                result = evaluate(diary, overrides, only=only)
            _apply(db, pid, result, live[pid], overrides, now)
            notices[pid] = [
                SafetyNotice(f.rule_id, RULES[f.rule_id].urgency, f.patient_message)
                for f in result.findings
                if RULES[f.rule_id].urgency == "urgent"
            ]
        try:
            await db.commit()
            break
        except IntegrityError:
            # Another process raised the same flag a moment ago: read it and update it instead.
            await db.rollback()
            if attempt:
                raise
    return notices


async def evaluate_patient(
    db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime, *, urgent_only: bool = False, in_thread: bool = False
) -> list[SafetyNotice]:
    """Runs the rules for one patient and stores the result; returns the urgent safety messages now in force."""
    return (await evaluate_patients(db, [patient_id], now, urgent_only=urgent_only, in_thread=in_thread))[patient_id]


async def evaluate_in_background(maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID) -> None:
    """The full rule set after a write has been answered; the periodic sweep catches up if this process dies."""
    try:
        async with maker() as db:
            await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC), in_thread=True)
    except Exception:
        log.exception("flag evaluation after a write failed; the sweep will retry")
    try:  # a new medicine time, a stopped treatment or a new flag changes the reminders too
        from backend.reminders.services import plan_patient

        async with maker() as db:
            await plan_patient(db, patient_id, dt.datetime.now(dt.UTC))
    except Exception:
        log.exception("reminder planning after a write failed; the dispatcher's next plan will catch up")


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
    for start in range(0, len(ids), SWEEP_BATCH):
        batch = ids[start : start + SWEEP_BATCH]
        async with maker() as db:
            try:
                await evaluate_patients(db, batch, now)
                done += len(batch)
            except Exception:
                log.exception("sweep: a batch failed; evaluating its patients one by one")
                for patient_id in batch:
                    try:
                        await evaluate_patient(db, patient_id, now)
                        done += 1
                    except Exception:
                        await db.rollback()
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


def needs_window(episode: Ep | None) -> bool:
    """U5 pairs a cramp with fluid loss in the 48 hours around it: such an entry cannot be judged alone."""
    return episode is not None and (
        episode.kind == "cramp" or bool(episode.context & {"fluid_loss", "diuretic_increase"})
    )


def quiet(episode: Ep) -> bool:
    """An entry that no urgent rule can act on at its default thresholds: no symptom, no context, not a cramp, not
    still going, and not longer than U1's limit. The quick log (a strength and a place) is such an entry, so the
    rules need not run for it. Kept honest by a property test that runs the rules themselves on every entry this
    calls quiet (tests/flags/test_urgent_screen.py): a new urgent rule looking at something else makes it fail."""
    return _quiet(episode.kind, episode.symptoms, episode.context, episode.ongoing, episode.length(episode.start))


def _quiet(kind: str, symptoms: Any, context: Any, ongoing: bool, length: dt.timedelta | None) -> bool:
    if symptoms or context or kind == "cramp" or ongoing:
        return False
    return length is None or length <= dt.timedelta(minutes=RULES["U1"].defaults["minutes"])


def screen_row(profile: Any, any_override: bool, row: Any, now: dt.datetime) -> bool:
    """``urgent_screen`` for one stored episode row (the grouped writer's answer), which first tries ``quiet`` on the
    row's own values: the common write is then screened without building the rules' view of the episode."""
    if profile is not None and not any_override and not row.ongoing:
        length = (row.ended_at - row.started_at if row.ended_at is not None
                  else dt.timedelta(seconds=row.duration_seconds) if row.duration_seconds is not None else None)  # fmt: skip
        if _quiet(row.kind, row.symptoms, row.context, row.ongoing, length) and not _needs_history(profile):
            return False
    episode = _episode(row)
    return needs_window(episode) or urgent_screen(profile, any_override, now, episodes=(episode,))


def urgent_screen(profile: Any, any_override: bool, now: dt.datetime, *, episodes: tuple[Ep, ...] = (),
                  day: Day | None = None) -> bool:  # fmt: skip
    """Whether the full urgent evaluation must run for a write (pure: the grouped episode writer screens a whole
    batch with it). False means no urgent rule can fire on these entries: the common case, a write with no
    warning sign, for a patient without threshold overrides or rules that need weeks of history (U7, U10)."""
    if profile is None or any_override or _needs_history(profile):
        return True
    if day is None and all(quiet(e) for e in episodes):
        return False
    probe = Diary(now=now, patient=_patient_of(profile), episodes=episodes, checkins=(day,) if day else ())
    return bool(evaluate(probe, only=[r.id for r in rules_for(probe) if r.urgency == "urgent"]).findings)


_PATIENTS: dict[tuple[Any, ...], Patient] = {}


def _patient_of(profile: Any) -> Patient:
    """``patient_from`` for a profile without overrides, kept per distinct profile: the screen runs for every write."""
    key = (tuple(sorted(profile.conditions)), profile.time_zone, profile.sci_level, bool(profile.itb_pump),
           profile.itb_refill_date, profile.baseline_systolic, profile.sleep_start, profile.sleep_end)  # fmt: skip
    found = _PATIENTS.get(key)
    if found is None:
        if len(_PATIENTS) >= 4096:
            _PATIENTS.clear()
        found = _PATIENTS[key] = patient_from(profile, None, {})
    return found


def _needs_history(profile: Any) -> bool:
    """Whether the patient's urgent rules include one that needs the weeks before an entry (U7, U10)."""
    return _history_rules(_patient_of(profile))


@functools.lru_cache(maxsize=4096)
def _history_rules(patient: Patient) -> bool:
    return any(r.id in SPIKE_RULES for r in rules_for(Diary(now=_EPOCH, patient=patient)))


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


async def urgent_check(
    db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime, *, episode: Ep | None = None, day: Day | None = None
) -> list[SafetyNotice]:
    """The urgent rules for one write, fast: most urgent rules look at the written entry alone, so the entry is
    tested first and the patient's recent diary is loaded only when the entry (or the patient's rule set) calls for
    it. Updating and closing older flags is left to the full evaluation that follows the answer."""
    row = (
        await db.execute(
            select(
                PatientProfile,
                select(ThresholdOverride.rule_id)
                .where(ThresholdOverride.patient_id == patient_id)
                .limit(1)
                .scalar_subquery(),
            ).where(PatientProfile.patient_id == patient_id)
        )
    ).first()
    profile, any_override = row if row is not None else (None, None)
    episodes: tuple[Ep, ...] = (episode,) if episode else ()
    if episode is not None and needs_window(episode):
        rows = await db.execute(
            select(*EPISODE_COLUMNS).where(
                Episode.patient_id == patient_id, Episode.deleted_at.is_(None),
                Episode.started_at >= episode.start - dt.timedelta(hours=49),
                Episode.started_at <= episode.start + dt.timedelta(hours=49),
            )
        )  # fmt: skip
        episodes = tuple({e.id: e for e in [*(_episode(r) for r in rows), episode]}.values())
    if urgent_screen(profile, any_override is not None, now, episodes=episodes, day=day):
        return await evaluate_patient(db, patient_id, now, urgent_only=True)
    return []
