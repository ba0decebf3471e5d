"""The clinician's triage list, their review marks, and Modified Ashworth grades.

The triage list answers "who needs me first?" for every patient linked to the clinician: open flags by urgency then
recency, episodes per week against the patient's own baseline, how complete the diary is, when it was last reviewed,
and a small daily trend. Counting happens in SQL, so the list costs a handful of queries whatever the number of
patients.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import AshworthGrade, ReviewMark
from backend.care.schemas import AshworthIn, AshworthOut, TriageRow
from backend.db import utcnow
from backend.diary.models import CheckIn, Episode, PatientProfile
from backend.diary.records import zone_of_name
from backend.diary.validation import OLDEST
from backend.flags.models import Flag, RuleFailure
from backend.flags.rules.base import URGENCY_RANK
from backend.shared.access import CareLink
from backend.shared.audit import audit_event
from backend.shared.checks import text_problem
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid


def local_day(engine_name: str) -> Any:
    """The patient's local date of an episode, in SQL: UTC start shifted by the offset the phone recorded."""
    if engine_name == "postgresql":
        return cast(Episode.started_at + Episode.start_offset * literal_column("interval '1 minute'"), Date)
    return func.date(Episode.started_at, Episode.start_offset.concat(" minutes"))


async def triage(db: AsyncSession, clinician_id: uuid.UUID, days: int, now: dt.datetime) -> list[TriageRow]:
    links = (
        await db.execute(
            select(CareLink.patient_id, User.display_name)
            .join(User, User.id == CareLink.patient_id)
            .where(CareLink.clinician_id == clinician_id, CareLink.status == "active")
        )
    ).all()
    ids = [pid for pid, _ in links]
    if not ids:
        return []
    dialect = db.get_bind().dialect.name
    # Every figure counts the patient's own local days (as the report and the rules do): today where they are, and
    # each episode on the day it began by the offset its phone recorded.
    profiles = select(PatientProfile.patient_id, PatientProfile.time_zone).where(PatientProfile.patient_id.in_(ids))
    zones = {pid: zone for pid, zone in (await db.execute(profiles)).all()}
    todays = {pid: now.astimezone(zone_of_name(zones.get(pid))).date() for pid in ids}
    earliest = min(todays.values()) - dt.timedelta(days=days - 1 + 28)
    day = local_day(dialect).label("day")
    daily = (
        await db.execute(
            select(Episode.patient_id, day, func.count())
            .where(
                Episode.patient_id.in_(ids),
                Episode.deleted_at.is_(None),
                Episode.started_at >= dt.datetime.combine(earliest - dt.timedelta(days=1), dt.time(), dt.UTC),
            )
            .group_by(Episode.patient_id, day)
        )
    ).all()
    counts: dict[uuid.UUID, dict[dt.date, int]] = defaultdict(dict)
    for pid, d, n in daily:
        counts[pid][d if isinstance(d, dt.date) else dt.date.fromisoformat(d)] = n
    # Days with any entry: the episode days are already counted above; add the days with only a check-in.
    logged: dict[uuid.UUID, set[dt.date]] = defaultdict(set)
    first_of = {pid: today - dt.timedelta(days=days - 1) for pid, today in todays.items()}
    for pid, d in (
        await db.execute(
            select(CheckIn.patient_id, CheckIn.day).where(
                CheckIn.patient_id.in_(ids), CheckIn.day >= min(first_of.values())
            )
        )
    ).all():
        logged[pid].add(d)
    for pid, per_day in counts.items():
        logged[pid].update(per_day)
    unchecked: dict[uuid.UUID, list[str]] = defaultdict(list)
    for pid, rule_id in (
        await db.execute(select(RuleFailure.patient_id, RuleFailure.rule_id).where(RuleFailure.patient_id.in_(ids)))
    ).all():
        unchecked[pid].append(rule_id)
    flags = (
        (await db.execute(select(Flag).where(Flag.patient_id.in_(ids), Flag.status.in_(["open", "acknowledged"]))))
        .scalars()
        .all()
    )
    by_patient: dict[uuid.UUID, list[Flag]] = defaultdict(list)
    for f in flags:
        by_patient[f.patient_id].append(f)
    marks = (
        await db.execute(
            select(ReviewMark.patient_id, ReviewMark.clinician_id, func.max(ReviewMark.reviewed_at))
            .where(ReviewMark.patient_id.in_(ids), ReviewMark.undone_at.is_(None))
            .group_by(ReviewMark.patient_id, ReviewMark.clinician_id)
        )
    ).all()
    last_mark: dict[uuid.UUID, tuple[dt.datetime, bool]] = {}
    for pid, cid, at in marks:
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        if pid not in last_mark or at > last_mark[pid][0]:
            last_mark[pid] = (at, cid == clinician_id)
    rows = []
    for pid, name in links:
        per_day = counts.get(pid, {})
        today, first = todays[pid], first_of[pid]
        series = [per_day.get(first + dt.timedelta(days=i), 0) for i in range(days)]
        base_total = sum(per_day.get(first - dt.timedelta(days=i), 0) for i in range(1, 29))
        own = sorted(by_patient.get(pid, []), key=lambda f: (URGENCY_RANK[f.urgency], -f.updated_at.timestamp()))
        tally: dict[str, int] = defaultdict(int)
        for f in own:
            tally[f.urgency] += 1
        mark = last_mark.get(pid)
        rows.append(
            TriageRow(
                patient_id=pid,
                name=name,
                open_flags=dict(tally),
                top_flag=own[0].clinician_message if own else None,
                top_urgency=own[0].urgency if own else None,
                last_flag_at=max((f.updated_at for f in own), default=None),
                episodes_per_week=round(sum(series) * 7 / days, 1),
                baseline_per_week=round(base_total / 4, 1) if base_total else None,
                days_logged=len({d for d in logged.get(pid, set()) if first <= d <= today}),
                period_days=days,
                last_reviewed_at=mark[0] if mark else None,
                reviewed_by_me=bool(mark and mark[1]),
                daily_counts=series,
                first_day=first,
                last_day=today,
                unchecked_rules=sorted(unchecked.get(pid, [])),
            )
        )
    rows.sort(
        key=lambda r: (
            URGENCY_RANK.get(r.top_urgency or "", 9),
            -(r.last_flag_at.timestamp() if r.last_flag_at else 0),
            r.name,
        )
    )
    return rows


async def audited_triage(
    db: AsyncSession, clinician: Principal, days: int, now: dt.datetime, *, address: str
) -> list[TriageRow]:
    """The triage list as a clinician sees it: seeing each patient in it is recorded in the audit log."""
    rows = await triage(db, clinician.user_id, days, now)
    for row in rows:
        db.add(audit_event(clinician, "triage.read", patient_id=row.patient_id, address=address))
    await db.commit()
    return rows


@dataclass(frozen=True)
class LatestMark:
    """The latest review mark still standing for a patient: when, by whom, and whether the reader has one to undo."""

    at: dt.datetime
    by: str
    mine_to_undo: bool


async def latest_marks(
    db: AsyncSession, clinician_id: uuid.UUID, patient_ids: list[uuid.UUID]
) -> dict[uuid.UUID, LatestMark]:
    if not patient_ids:
        return {}
    rows = (
        await db.execute(
            select(ReviewMark.patient_id, ReviewMark.clinician_id, ReviewMark.reviewed_at, User.display_name)
            .join(User, User.id == ReviewMark.clinician_id)
            .where(ReviewMark.patient_id.in_(patient_ids), ReviewMark.undone_at.is_(None))
            .order_by(ReviewMark.reviewed_at)
        )
    ).all()
    out: dict[uuid.UUID, LatestMark] = {}
    mine = {pid for pid, cid, _, _ in rows if cid == clinician_id}
    for pid, _, at, name in rows:  # oldest first: the last one read is the latest
        out[pid] = LatestMark(at if at.tzinfo else at.replace(tzinfo=dt.UTC), name, pid in mine)
    return out


async def top_rules(db: AsyncSession, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The rule of each patient's top live flag, in the triage list's own order (urgency, then the latest)."""
    if not patient_ids:
        return {}
    query = select(Flag.patient_id, Flag.rule_id, Flag.urgency, Flag.updated_at).where(
        Flag.patient_id.in_(patient_ids), Flag.status.in_(["open", "acknowledged"])
    )
    best: dict[uuid.UUID, tuple[int, float, str]] = {}
    for pid, rule_id, urgency, updated in (await db.execute(query)).all():
        key = (URGENCY_RANK[urgency], -updated.timestamp(), rule_id)
        if pid not in best or key < best[pid]:
            best[pid] = key
    return {pid: key[2] for pid, key in best.items()}


async def zones_of(db: AsyncSession, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, ZoneInfo]:
    """Each patient's own time zone, in which their pages say every time."""
    query = select(PatientProfile.patient_id, PatientProfile.time_zone).where(
        PatientProfile.patient_id.in_(patient_ids)
    )
    found = {pid: zone_of_name(zone) for pid, zone in (await db.execute(query)).all()}
    return {pid: found.get(pid, zone_of_name(None)) for pid in patient_ids}


async def mark_reviewed(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID) -> ReviewMark:
    mark = ReviewMark(patient_id=patient_id, clinician_id=clinician.user_id, reviewed_at=utcnow())
    db.add(mark)
    await db.commit()
    return mark


async def undo_reviewed(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID) -> None:
    """Undoes the clinician's own latest mark (never another clinician's)."""
    query = (
        select(ReviewMark)
        .where(
            ReviewMark.patient_id == patient_id,
            ReviewMark.clinician_id == clinician.user_id,
            ReviewMark.undone_at.is_(None),
        )
        .order_by(ReviewMark.reviewed_at.desc())
        .limit(1)
    )
    mark = (await db.execute(query)).scalar_one_or_none()
    if mark is None:
        raise Problem(409, "You have no review mark to undo for this patient.", code="nothing-to-undo")
    mark.undone_at = utcnow()
    await db.commit()


def ashworth_out(row: AshworthGrade) -> AshworthOut:
    return AshworthOut(
        id=row.id,
        muscle_group=row.muscle_group,
        side=row.side,
        grade=row.grade,
        scale_variant=row.scale_variant,
        assessed_on=row.assessed_on,
        note=row.note,
        clinician_id=row.clinician_id,
    )


async def add_ashworth(db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, data: AshworthIn) -> AshworthOut:
    """A Modified Ashworth grade, as given ("1+" included: the grade string is kept, never averaged)."""
    errors = []
    today = utcnow().date()
    # A grade is recorded at or soon after the examination; a date from another decade is a typo in the year.
    if data.assessed_on > today + dt.timedelta(days=1):
        errors.append(FieldError("assessed_on", "is in the future"))
    elif data.assessed_on < today - OLDEST:
        errors.append(FieldError("assessed_on", "is more than 10 years ago; check the year"))
    if data.note is not None and (reason := text_problem(data.note)):
        errors.append(FieldError("note", reason))
    if errors:
        raise invalid(errors)
    row = AshworthGrade(
        patient_id=patient_id,
        clinician_id=clinician.user_id,
        muscle_group=data.muscle_group,
        side=data.side,
        grade=data.grade,
        scale_variant="MAS",
        assessed_on=data.assessed_on,
        note=data.note,
        created_at=utcnow(),
    )
    db.add(row)
    await db.commit()
    return ashworth_out(row)


async def ashworth_grades(db: AsyncSession, patient_id: uuid.UUID) -> list[AshworthOut]:
    query = (
        select(AshworthGrade).where(AshworthGrade.patient_id == patient_id).order_by(AshworthGrade.assessed_on.desc())
    )
    return [ashworth_out(r) for r in (await db.execute(query)).scalars()]
