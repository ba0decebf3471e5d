"""Running the rules over patients' diaries and keeping their flags in step with what the rules find.

The rules themselves are pure (engine.py); this module and diaries.py (which loads what the rules read) are where
flags touch the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.diary.models import Episode, PatientProfile
from backend.flags.diaries import EPISODE_COLUMNS, FULL_WINDOW_DAYS, load_diaries
from backend.flags.engine import RULES, Evaluation, evaluate, thresholds_for, urgent_ids
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, RuleFailure, ThresholdOverride
from backend.flags.rows import episode_from_row
from backend.flags.rules.base import Finding, renewed
from backend.flags.screen import needs_window, urgent_screen
from backend.flags.window import Day, Ep
from backend.flags.wording import UNCHECKED

log = logging.getLogger("spasm.flags")
# What follows a patient's evaluation (the reminders' planning), given by the app: the rules do not import reminders.
AfterEvaluation = Callable[[AsyncSession, uuid.UUID, dt.datetime], Awaitable[object]]

SWEEP_BATCH = 200


@dataclass(frozen=True)
class SafetyNotice:
    rule_id: str
    urgency: str
    message: str
    unchecked: bool = False  # the rule could not be checked: the message is the general warning-sign advice


@dataclass
class Judged:
    """What clinicians have already judged of one rule for one patient: the signs their resolutions covered."""

    signs: set[str] = field(default_factory=set)
    latest: Flag | None = None  # the most recent resolved flag: a flag raised again links to it


async def _judged(db: AsyncSession, ids: list[uuid.UUID], since: dt.date) -> dict[uuid.UUID, dict[str, Judged]]:
    """Resolved flags whose judgment can still meet the rules' window (older ones cover no entry the rules read)."""
    out: dict[uuid.UUID, dict[str, Judged]] = {pid: {} for pid in ids}
    rows = await db.execute(
        select(Flag).where(Flag.patient_id.in_(ids), Flag.status == "resolved", Flag.window_end >= since)
    )
    for f in rows.scalars():
        if not f.judged_signs:  # closed by itself, never judged (JSON null and SQL NULL alike)
            continue
        judged = out[f.patient_id].setdefault(f.rule_id, Judged())
        judged.signs.update(f.judged_signs or ())
        if judged.latest is None or (f.resolved_at or f.updated_at) > (judged.latest.resolved_at or f.updated_at):
            judged.latest = f
    return out


def _without_judged(finding: Finding, judged: Judged | None) -> Finding:
    """A finding of a rule clinicians already judged, without the signs they judged: a flag raised again rests on
    the new entries only, so that the judged ones never show its advice again (CLINICAL.md (a), note 5)."""
    if judged is None or not finding.signs & judged.signs:
        return finding
    gone = finding.signs & judged.signs
    return replace(
        finding,
        signs=finding.signs - gone,
        episode_ids=frozenset(e for e in finding.episode_ids if str(e) not in gone),
        checkin_days=frozenset(d for d in finding.checkin_days if d.isoformat() not in gone),
    )


def _event(flag: Flag, now: dt.datetime, action: str, note: str | None = None) -> FlagEvent:
    return FlagEvent(patient_id=flag.patient_id, flag_id=flag.id, at=now, action=action, note=note)


def _apply(
    db: AsyncSession,
    patient_id: uuid.UUID,
    result: Evaluation,
    live: dict[str, Flag],
    judged: dict[str, Judged],
    overrides: dict[str, dict[str, float]],
    now: dt.datetime,
) -> list[Finding]:
    """Brings the patient's flags in step with an evaluation; answers the findings now standing as live flags."""
    standing: list[Finding] = []
    fired = {f.rule_id for f in result.findings}
    for found in result.findings:
        rule = RULES[found.rule_id]
        earlier = judged.get(found.rule_id)
        flag = live.get(found.rule_id)
        if flag is None and earlier is not None and not renewed(rule.renewal, found.signs, earlier.signs):
            continue  # what the rule sees now is what a clinician resolved: the resolution stands
        found = _without_judged(found, earlier)
        standing.append(found)
        values = {
            "rule_version": rule.version,
            "urgency": rule.urgency,
            "thresholds": thresholds_for(rule, overrides),
            "window_start": found.window_start,
            "window_end": found.window_end,
            "evidence_episodes": sorted(str(i) for i in found.episode_ids),
            "evidence_days": sorted(d.isoformat() for d in found.checkin_days),
            "signs": sorted(found.signs),
            "patient_message": found.patient_message,
            "clinician_message": found.clinician_message,
            "last_fired_at": now,
        }
        if flag is None:
            previous = earlier.latest.id if earlier and earlier.latest else None
            flag = Flag(
                patient_id=patient_id,
                id=uuid.uuid4(),
                rule_id=found.rule_id,
                status="open",
                opened_at=now,
                updated_at=now,
                previous_id=previous,
                **values,
            )
            db.add(flag)
            db.add(_event(flag, now, "raised-again" if flag.previous_id else "raised"))
            continue
        changed = (flag.evidence_episodes, flag.evidence_days) != (values["evidence_episodes"], values["evidence_days"])
        for key, value in values.items():
            setattr(flag, key, value)
        # An acknowledge or snooze stands for the signs it saw; new ones bring the flag back (note 5).
        seen = flag.judged_signs
        if flag.status in {"acknowledged", "snoozed"} and seen is not None and renewed(rule.renewal, found.signs, seen):
            flag.status, flag.snoozed_until = "open", None
            db.add(_event(flag, now, "new-evidence"))
        if flag.status == "snoozed" and flag.snoozed_until is not None and flag.snoozed_until <= now:
            flag.status = "open"
            flag.snoozed_until = None
            db.add(_event(flag, now, "snooze-ended"))
        if changed:
            flag.updated_at = now
            db.add(_event(flag, now, "updated"))
    for rule_id in set(result.evaluated) - fired:
        flag = live.get(rule_id)
        if flag is None:
            continue
        recede = dt.timedelta(days=RULES[rule_id].recede_days)
        if now - flag.last_fired_at >= recede:
            flag.status = "resolved"
            flag.resolved_at = now
            flag.updated_at = now
            if recede:
                flag.resolution_note = f"Closed automatically: the pattern has not been seen for {recede.days} days."
            else:
                flag.resolution_note = "Closed automatically: the pattern no longer holds."
            db.add(_event(flag, now, "auto-resolved", flag.resolution_note))
    return standing


# Failures are logged at most once an hour per rule and kind of error in each process: a rule failing for many
# patients at every sweep must not flood the log (the table below keeps the count per patient).
_LOGGED: dict[tuple[str, str], float] = {}


async def _record_failures(db: AsyncSession, patient_id: uuid.UUID, result: Evaluation, now: dt.datetime) -> None:
    if result.evaluated:
        await db.execute(
            delete(RuleFailure).where(RuleFailure.patient_id == patient_id, RuleFailure.rule_id.in_(result.evaluated))
        )
    for rule_id, error in result.failed.items():
        last = _LOGGED.get((rule_id, error), 0.0)
        if time.monotonic() - last > 3600:
            _LOGGED[(rule_id, error)] = time.monotonic()
            log.error("rule %s could not be checked (%s); the other rules ran", rule_id, error)
        row = await db.get(RuleFailure, (patient_id, rule_id))
        if row is None:
            db.add(
                RuleFailure(
                    patient_id=patient_id,
                    rule_id=rule_id,
                    error=error,
                    first_failed_at=now,
                    last_failed_at=now,
                    failures=1,
                )
            )
        else:
            row.error, row.last_failed_at, row.failures = error, now, row.failures + 1


async def evaluate_patients(
    db: AsyncSession,
    patient_ids: list[uuid.UUID],
    now: dt.datetime,
    *,
    urgent_only: bool = False,
    in_thread: bool = False,
) -> dict[uuid.UUID, list[SafetyNotice]]:
    """Runs the rules for a batch of patients and stores the result in one transaction; returns each patient's
    urgent safety messages now in force (and a notice for an urgent rule that could not be checked). ``in_thread``
    runs the rules (pure, and tens of milliseconds over a long diary) off the event loop, so that a background
    evaluation never holds up the requests being served."""
    notices: dict[uuid.UUID, list[SafetyNotice]] = {}
    for attempt in range(2):
        diaries = await load_diaries(db, patient_ids, now, urgent_only=urgent_only)
        pids = list(diaries)
        live: dict[uuid.UUID, dict[str, Flag]] = {pid: {} for pid in pids}
        for f in (
            await db.execute(select(Flag).where(Flag.patient_id.in_(pids), Flag.status.in_(LIVE_STATUSES)))
        ).scalars():
            live[f.patient_id][f.rule_id] = f
        judged = await _judged(db, pids, (now - dt.timedelta(days=FULL_WINDOW_DAYS + 2)).date())
        for pid, (diary, overrides) in diaries.items():
            only = urgent_ids() if urgent_only else None
            if in_thread:
                result = await asyncio.to_thread(evaluate, diary, overrides, only=only)
            else:
                result = evaluate(diary, overrides, only=only)
            standing = _apply(db, pid, result, live[pid], judged[pid], overrides, now)
            with db.no_autoflush:  # a flag raised a moment ago by another process surfaces at the commit below
                await _record_failures(db, pid, result, now)
            notices[pid] = [
                SafetyNotice(f.rule_id, "urgent", f.patient_message)
                for f in standing
                if RULES[f.rule_id].urgency == "urgent"
            ] + [SafetyNotice(r, "urgent", UNCHECKED, True) for r in result.failed if RULES[r].urgency == "urgent"]
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


async def evaluate_in_background(
    maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID, then: AfterEvaluation | None = None
) -> None:
    """The full rule set after a write has been answered; the periodic sweep catches up if this process dies.
    ``then`` runs next, in its own session (the app plans the patient's reminders: a new medicine time, a stopped
    treatment or a new flag changes them)."""
    try:
        async with maker() as db:
            await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC), in_thread=True)
    except Exception:
        log.exception("flag evaluation after a write failed; the sweep will retry")
    if then is None:
        return
    try:
        async with maker() as db:
            await then(db, patient_id, dt.datetime.now(dt.UTC))
    except Exception:
        log.exception("what follows a flag evaluation failed; the next periodic run will catch up")


async def sweep(
    maker: async_sessionmaker[AsyncSession],
    now: dt.datetime | None = None,
    patient_ids: Iterable[uuid.UUID] | None = None,
) -> int:
    """Re-evaluates every patient, for the rules that depend on time passing (an ongoing episode passing 10 minutes,
    a diary going quiet, a treatment reaching day 28). Returns how many patients were evaluated."""
    now = now or dt.datetime.now(dt.UTC)
    async with maker() as db:
        if patient_ids is not None:
            ids = list(patient_ids)
        else:
            ids = list((await db.execute(select(PatientProfile.patient_id))).scalars())
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


async def safety_for(
    db: AsyncSession, patient_id: uuid.UUID, *, episode_id: uuid.UUID | None = None, day: dt.date | None = None
) -> list[SafetyNotice]:
    """The live urgent flags that rest on one entry: what the patient must read next to that entry."""
    query = select(Flag).where(Flag.patient_id == patient_id, Flag.status.in_(LIVE_STATUSES), Flag.urgency == "urgent")
    flags = (await db.execute(query)).scalars().all()
    key_episode = str(episode_id) if episode_id else None
    key_day = day.isoformat() if day else None
    return [
        SafetyNotice(f.rule_id, f.urgency, f.patient_message)
        for f in sorted(flags, key=lambda f: f.rule_id)
        if (key_episode and key_episode in f.evidence_episodes) or (key_day and key_day in f.evidence_days)
    ]


async def urgent_check(
    db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime, *, episode: Ep | None = None, day: Day | None = None
) -> list[SafetyNotice]:
    """The urgent rules for one write, fast: most urgent rules look at the written entry alone, so the entry is
    tested first and the patient's recent diary is loaded only when the entry (or the patient's rule set) calls for
    it. Updating and closing older flags is left to the full evaluation that follows the answer. Answers the urgent
    notices in force for the patient, an empty list when the screen cleared the write."""
    any_override = (
        select(ThresholdOverride.rule_id).where(ThresholdOverride.patient_id == patient_id).limit(1).scalar_subquery()
    )
    row = (
        await db.execute(select(PatientProfile, any_override).where(PatientProfile.patient_id == patient_id))
    ).first()
    profile, override = row if row is not None else (None, None)
    episodes: tuple[Ep, ...] = (episode,) if episode else ()
    if episode is not None and needs_window(episode):
        rows = await db.execute(
            select(*EPISODE_COLUMNS).where(
                Episode.patient_id == patient_id,
                Episode.deleted_at.is_(None),
                Episode.started_at >= episode.start - dt.timedelta(hours=49),
                Episode.started_at <= episode.start + dt.timedelta(hours=49),
            )
        )
        episodes = tuple({e.id: e for e in [*(episode_from_row(r) for r in rows), episode]}.values())
    if urgent_screen(profile, override is not None, now, episodes=episodes, day=day):
        return await evaluate_patient(db, patient_id, now, urgent_only=True)
    return []
