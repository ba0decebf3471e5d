"""Flags as people read them: the patient's own list, a clinician's with each flag's history and who acted, the rules
that could not be checked, and the derived measures."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.db import utcnow
from backend.diary.models import PennRating
from backend.flags import lifecycle, measures
from backend.flags.diaries import load_diary
from backend.flags.engine import RULES
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, RuleFailure
from backend.flags.rules.base import URGENCY_RANK
from backend.flags.schemas import ClinicianFlagOut, FlagEventOut, MeasuresOut, PatientFlagOut, RuleFailureOut


def ordered(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (f.status == "resolved", URGENCY_RANK[f.urgency], -f.updated_at.timestamp()))


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]


def _dates(values: Iterable[str]) -> list[dt.date]:
    return [dt.date.fromisoformat(v) for v in values]


def patient_flag_out(flag: Flag) -> PatientFlagOut:
    return PatientFlagOut(
        id=flag.id,
        rule_id=flag.rule_id,
        urgency=flag.urgency,
        status=flag.status,
        message=flag.patient_message,
        window_start=flag.window_start,
        window_end=flag.window_end,
        evidence_episodes=_uuids(flag.evidence_episodes),
        evidence_days=_dates(flag.evidence_days),
        opened_at=flag.opened_at,
        updated_at=flag.updated_at,
        resolved_at=flag.resolved_at,
        read=not lifecycle.unread(flag),
        previous_id=flag.previous_id,
    )


def clinician_flag_out(flag: Flag, history: list[FlagEvent], names: dict[uuid.UUID, str]) -> ClinicianFlagOut:
    return ClinicianFlagOut(
        id=flag.id,
        rule_id=flag.rule_id,
        rule_name=RULES[flag.rule_id].name,
        rule_version=flag.rule_version,
        urgency=flag.urgency,
        status=flag.status,
        message=flag.clinician_message,
        patient_message=flag.patient_message,
        thresholds=dict(flag.thresholds),
        window_start=flag.window_start,
        window_end=flag.window_end,
        evidence_episodes=_uuids(flag.evidence_episodes),
        evidence_days=_dates(flag.evidence_days),
        opened_at=flag.opened_at,
        last_fired_at=flag.last_fired_at,
        updated_at=flag.updated_at,
        snoozed_until=flag.snoozed_until,
        acknowledged_at=flag.acknowledged_at,
        resolved_at=flag.resolved_at,
        resolved_by=flag.resolved_by,
        resolved_by_name=names.get(flag.resolved_by) if flag.resolved_by else None,
        resolution_note=flag.resolution_note,
        judged_at=flag.judged_at,
        previous_id=flag.previous_id,
        history=[
            FlagEventOut(
                at=e.at,
                action=e.action,
                actor_id=e.actor_id,
                actor_name=names.get(e.actor_id) if e.actor_id else None,
                note=e.note,
            )
            for e in history
        ],
    )


async def flags_of(db: AsyncSession, patient_id: uuid.UUID, status: str) -> list[Flag]:
    query = select(Flag).where(Flag.patient_id == patient_id)
    if status == "live":
        query = query.where(Flag.status.in_(LIVE_STATUSES))
    return ordered(list((await db.execute(query)).scalars()))


async def flag_histories(
    db: AsyncSession, patient_id: uuid.UUID, flags: list[Flag]
) -> tuple[dict[uuid.UUID, list[FlagEvent]], dict[uuid.UUID, str]]:
    """Each flag's history, oldest first, and the names of everyone who acted on them (resolvers included)."""
    wanted = {f.id for f in flags}
    events: dict[uuid.UUID, list[FlagEvent]] = {f.id: [] for f in flags}
    query = select(FlagEvent).where(FlagEvent.patient_id == patient_id).order_by(FlagEvent.at)
    for e in (await db.execute(query)).scalars():
        if e.flag_id in wanted:
            events[e.flag_id].append(e)
    actors = {e.actor_id for es in events.values() for e in es if e.actor_id} | {
        f.resolved_by for f in flags if f.resolved_by
    }
    names: dict[uuid.UUID, str] = {}
    if actors:
        rows = await db.execute(select(User.id, User.display_name).where(User.id.in_(actors)))
        names = {uid: name for uid, name in rows.all()}
    return events, names


async def clinician_view(db: AsyncSession, patient_id: uuid.UUID, flags: list[Flag]) -> list[ClinicianFlagOut]:
    events, names = await flag_histories(db, patient_id, flags)
    return [clinician_flag_out(f, events[f.id], names) for f in flags]


async def rule_failures(db: AsyncSession, patient_id: uuid.UUID) -> list[RuleFailureOut]:
    rows = await db.execute(
        select(RuleFailure).where(RuleFailure.patient_id == patient_id).order_by(RuleFailure.rule_id)
    )
    return [
        RuleFailureOut(
            rule_id=r.rule_id,
            rule_name=RULES[r.rule_id].name if r.rule_id in RULES else r.rule_id,
            error=r.error,
            since=r.first_failed_at,
            last=r.last_failed_at,
            failures=r.failures,
        )
        for r in rows.scalars()
    ]


async def measures_of(db: AsyncSession, patient_id: uuid.UUID, days: int) -> MeasuresOut:
    now = utcnow()
    diary, _ = await load_diary(db, patient_id, now)
    window = diary.days_back(days)
    base = measures.count_baseline(diary, diary.today - dt.timedelta(days=6))
    latest_penn = (
        await db.execute(
            select(PennRating.frequency)
            .where(PennRating.patient_id == patient_id)
            .order_by(PennRating.week.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return MeasuresOut(
        days=days,
        first_day=window[0],
        last_day=window[-1],
        daily_counts={d.isoformat(): n for d, n in measures.daily_counts(diary, window).items()},
        weekly_counts=measures.weekly_counts(diary, max(1, days // 7)),
        baseline_per_day=base.value if base else None,
        days_logged_last_7=measures.completeness(diary, 7)[0],
        psfs_from_log=measures.psfs_band_from_log(diary),
        psfs_self_rated=latest_penn,
        share_of_nights_disturbed=measures.share_of_nights_disturbed(diary, 7),
    )
