"""The clinician's triage list, Modified Ashworth grades, and review marks.

The triage list answers "who needs me first?" for every patient linked to the clinician: open flags by urgency then
recency, episodes per week against the patient's own baseline, how complete the diary is, when it was last reviewed,
and a small daily trend. Counting happens in SQL, so the list costs a handful of queries whatever the number of
patients.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter
from msgspec import Meta
from sqlalchemy import Date, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import AshworthGrade, ReviewMark
from backend.db import utcnow
from backend.diary.models import CheckIn, Episode, PatientProfile
from backend.diary.records import zone_of_name
from backend.diary.validation import OLDEST
from backend.flags.models import Flag, RuleFailure
from backend.flags.rules.base import URGENCY_RANK
from backend.shared.access import CareLink, require_link
from backend.shared.audit import audit_event
from backend.shared.checks import text_problem
from backend.shared.dependencies import provide_clinician
from backend.shared.principal import Principal, client_address
from backend.shared.problems import FieldError, Problem, invalid
from backend.shared.schemas import Input

NO_STORE = {"Cache-Control": "no-store"}
Period = Annotated[Literal[7, 14, 30], Parameter(description="days: 7, 14 or 30")]
MUSCLE_GROUPS = ("elbow_flexors", "elbow_extensors", "wrist_flexors", "finger_flexors", "shoulder_adductors",
                 "hip_flexors", "hip_adductors", "knee_flexors", "knee_extensors", "ankle_plantarflexors", "other")  # fmt: skip


class TriageRow(msgspec.Struct, kw_only=True):
    patient_id: uuid.UUID
    name: str
    open_flags: dict[str, int]
    top_flag: str | None
    top_urgency: str | None
    last_flag_at: dt.datetime | None
    episodes_per_week: float
    baseline_per_week: float | None
    days_logged: int
    period_days: int
    last_reviewed_at: dt.datetime | None
    reviewed_by_me: bool
    daily_counts: list[int]
    first_day: dt.date  # the period's first and last local day where the patient is
    last_day: dt.date
    unchecked_rules: list[str]  # rules that could not be checked at the last evaluation (the others ran)


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
        rows.append(TriageRow(
            patient_id=pid, name=name, open_flags=dict(tally), top_flag=own[0].clinician_message if own else None,
            top_urgency=own[0].urgency if own else None, last_flag_at=max((f.updated_at for f in own), default=None),
            episodes_per_week=round(sum(series) * 7 / days, 1),
            baseline_per_week=round(base_total / 4, 1) if base_total else None,
            days_logged=len({d for d in logged.get(pid, set()) if first <= d <= today}), period_days=days,
            last_reviewed_at=mark[0] if mark else None, reviewed_by_me=bool(mark and mark[1]), daily_counts=series,
            first_day=first, last_day=today, unchecked_rules=sorted(unchecked.get(pid, [])),
        ))  # fmt: skip
    rows.sort(key=lambda r: (
        URGENCY_RANK.get(r.top_urgency or "", 9),
        -(r.last_flag_at.timestamp() if r.last_flag_at else 0),
        r.name,
    ))  # fmt: skip
    return rows


@get("/api/v1/triage", tags=["clinician workspace"], summary="My patients, the ones who need attention first",
     dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def triage_list(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, days: Period = 7
) -> Response[list[TriageRow]]:
    rows = await triage(db, clinician.user_id, days, utcnow())
    for row in rows:
        db.add(audit_event(clinician, "triage.read", patient_id=row.patient_id, address=client_address(request)))
    await db.commit()
    return Response(rows, headers=NO_STORE)


@post("/api/v1/patients/{patient_id:uuid}/reviewed", tags=["clinician workspace"], status_code=201,
      summary="Mark this patient's diary as reviewed", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def mark_reviewed(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[dict[str, str]]:
    await require_link(request, db, clinician, patient_id, "view", "review.mark")
    mark = ReviewMark(patient_id=patient_id, clinician_id=clinician.user_id, reviewed_at=utcnow())
    db.add(mark)
    await db.commit()
    return Response(
        {"id": str(mark.id), "reviewed_at": mark.reviewed_at.isoformat()}, status_code=201, headers=NO_STORE
    )


@delete("/api/v1/patients/{patient_id:uuid}/reviewed", tags=["clinician workspace"], status_code=204,
        summary="Undo my latest review mark", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def undo_reviewed(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[None]:
    await require_link(request, db, clinician, patient_id, "view", "review.undo")
    mark = (
        await db.execute(
            select(ReviewMark)
            .where(
                ReviewMark.patient_id == patient_id,
                ReviewMark.clinician_id == clinician.user_id,
                ReviewMark.undone_at.is_(None),
            )
            .order_by(ReviewMark.reviewed_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if mark is None:
        raise Problem(409, "You have no review mark to undo for this patient.", code="nothing-to-undo")
    mark.undone_at = utcnow()
    await db.commit()
    return Response(None, status_code=204, headers=NO_STORE)


class AshworthIn(Input, kw_only=True, forbid_unknown_fields=True):
    muscle_group: Literal[MUSCLE_GROUPS]  # type: ignore[valid-type]
    side: Literal["left", "right"]
    grade: Literal["0", "1", "1+", "2", "3", "4"]
    assessed_on: dt.date
    note: Annotated[str, Meta(max_length=2000)] | None = None


class AshworthOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    muscle_group: str
    side: str
    grade: str
    scale_variant: str
    assessed_on: dt.date
    note: str | None
    clinician_id: uuid.UUID | None


def _ashworth_out(row: AshworthGrade) -> AshworthOut:
    return AshworthOut(id=row.id, muscle_group=row.muscle_group, side=row.side, grade=row.grade,
                       scale_variant=row.scale_variant, assessed_on=row.assessed_on, note=row.note,
                       clinician_id=row.clinician_id)  # fmt: skip


@post("/api/v1/patients/{patient_id:uuid}/ashworth", tags=["clinician workspace"], status_code=201,
      summary="Record a Modified Ashworth grade (clinicians only)", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def add_ashworth(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, data: AshworthIn
) -> Response[AshworthOut]:
    await require_link(request, db, clinician, patient_id, "annotate", "ashworth.create")
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
    row = AshworthGrade(patient_id=patient_id, clinician_id=clinician.user_id, muscle_group=data.muscle_group,
                        side=data.side, grade=data.grade, scale_variant="MAS",
                        assessed_on=data.assessed_on, note=data.note, created_at=utcnow())  # fmt: skip
    db.add(row)
    await db.commit()
    return Response(_ashworth_out(row), status_code=201, headers=NO_STORE)


@get("/api/v1/patients/{patient_id:uuid}/ashworth", tags=["clinician workspace"],
     summary="A linked patient's Modified Ashworth grades", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def list_ashworth(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[list[AshworthOut]]:
    await require_link(request, db, clinician, patient_id, "view", "ashworth.read")
    rows = (await db.execute(select(AshworthGrade).where(AshworthGrade.patient_id == patient_id)
                             .order_by(AshworthGrade.assessed_on.desc()))).scalars()  # fmt: skip
    return Response([_ashworth_out(r) for r in rows], headers=NO_STORE)


TRIAGE_ROUTES: list[Any] = [triage_list, mark_reviewed, undo_reviewed, add_ashworth, list_ashworth]
