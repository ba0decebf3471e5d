"""Flags over JSON: the patient's own (/api/v1/flags) and a linked clinician's view and actions
(/api/v1/patients/{patient_id}/flags, /thresholds, /rule-failures)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.db import utcnow
from backend.diary.models import PennRating
from backend.flags import lifecycle, measures
from backend.flags.diaries import load_diary
from backend.flags.engine import ANY_CONDITION, PROFILES, PUMP_RULES, RULES, threshold_problems
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, RuleFailure, ThresholdOverride
from backend.flags.rules.base import URGENCY_RANK
from backend.flags.schemas import (
    ClinicianFlagOut,
    FlagEventOut,
    LimitOut,
    MeasuresOut,
    PatientFlagOut,
    ResolveIn,
    RuleFailureOut,
    RuleOut,
    SnoozeIn,
    ThresholdsIn,
)
from backend.shared.access import require_link
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, invalid, not_found

NO_STORE = {"Cache-Control": "no-store"}
StatusFilter = Annotated[Literal["live", "all"], Parameter(description="live: open, acknowledged or snoozed")]


def _order(flags: list[Flag]) -> list[Flag]:
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


async def _flags(db: AsyncSession, patient_id: uuid.UUID, status: str) -> list[Flag]:
    query = select(Flag).where(Flag.patient_id == patient_id)
    if status == "live":
        query = query.where(Flag.status.in_(LIVE_STATUSES))
    return _order(list((await db.execute(query)).scalars()))


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


async def set_thresholds(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, rule_id: str, data: ThresholdsIn
) -> dict[str, Any]:
    """A clinician's thresholds for one rule and one patient; every value within the range the rule declares."""
    rule = RULES.get(rule_id)
    if rule is None:
        raise not_found("rule")
    problems = threshold_problems(rule, data.thresholds)
    if problems:
        raise invalid([FieldError(f"thresholds.{name}", reason) for name, reason in problems.items()])
    values = dict(data.thresholds)
    if data.enabled is not None:
        values["enabled"] = 1.0 if data.enabled else 0.0
    now = utcnow()
    row = await db.get(ThresholdOverride, (patient_id, rule_id))
    if row is None:
        db.add(
            ThresholdOverride(
                patient_id=patient_id, rule_id=rule_id, thresholds=values, set_by=clinician.user_id, set_at=now
            )
        )
    else:
        row.thresholds, row.set_by, row.set_at = values, clinician.user_id, now
    await db.commit()
    return {"rule_id": rule_id, "thresholds": {**rule.defaults, **data.thresholds}, "enabled": data.enabled}


class PatientFlagController(Controller):
    path = "/api/v1/flags"
    tags = ["flags"]
    dependencies = {"patient": Provide(provide_patient)}

    @get("/", summary="My flags, most urgent first, in plain words")
    async def my_flags(
        self, db: AsyncSession, patient: Principal, status: StatusFilter = "live"
    ) -> Response[list[PatientFlagOut]]:
        return Response([patient_flag_out(f) for f in await _flags(db, patient.user_id, status)], headers=NO_STORE)

    @post("/{flag_id:uuid}/read", status_code=200, summary="I've read this (it folds away until something new)")
    async def read(self, db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[PatientFlagOut]:
        return Response(patient_flag_out(await lifecycle.mark_read(db, patient, flag_id)), headers=NO_STORE)

    @post("/{flag_id:uuid}/checked", status_code=200, summary="I went through the trigger checklist (sudden increase)")
    async def checked(self, db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[PatientFlagOut]:
        return Response(patient_flag_out(await lifecycle.checklist_done(db, patient, flag_id)), headers=NO_STORE)


class ClinicianFlagController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}"
    tags = ["flags (clinician)"]
    dependencies = {"clinician": Provide(provide_clinician)}

    async def _answer(self, db: AsyncSession, flag: Flag) -> Response[ClinicianFlagOut]:
        return Response((await clinician_view(db, flag.patient_id, [flag]))[0], headers=NO_STORE)

    @get("/flags", summary="A linked patient's flags, most urgent first, with evidence and history")
    async def list_flags(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        status: StatusFilter = "live",
    ) -> Response[list[ClinicianFlagOut]]:
        await require_link(request, db, clinician, patient_id, "view", "flags.read")
        flags = await _flags(db, patient_id, status)
        return Response(await clinician_view(db, patient_id, flags), headers=NO_STORE)

    @get("/rule-failures", summary="Rules that could not be checked for this patient (the others ran)")
    async def list_rule_failures(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
    ) -> Response[list[RuleFailureOut]]:
        await require_link(request, db, clinician, patient_id, "view", "flags.read")
        return Response(await rule_failures(db, patient_id), headers=NO_STORE)

    @post("/flags/{flag_id:uuid}/acknowledge", status_code=200, summary="I have seen this flag")
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        flag_id: uuid.UUID,
    ) -> Response[ClinicianFlagOut]:
        await require_link(request, db, clinician, patient_id, "annotate", "flags.acknowledge")
        return await self._answer(db, await lifecycle.acknowledge(db, clinician, patient_id, flag_id))

    @post("/flags/{flag_id:uuid}/resolve", status_code=200, summary="Close this flag, with a note")
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        flag_id: uuid.UUID,
        data: ResolveIn,
    ) -> Response[ClinicianFlagOut]:
        await require_link(request, db, clinician, patient_id, "annotate", "flags.resolve")
        return await self._answer(db, await lifecycle.resolve(db, clinician, patient_id, flag_id, data.note))

    @post("/flags/{flag_id:uuid}/snooze", status_code=200, summary="Hide this flag from the triage list until a time")
    async def snooze(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        flag_id: uuid.UUID,
        data: SnoozeIn,
    ) -> Response[ClinicianFlagOut]:
        await require_link(request, db, clinician, patient_id, "annotate", "flags.snooze")
        flag = await lifecycle.snooze(db, clinician, patient_id, flag_id, data.until, data.note)
        return await self._answer(db, flag)

    @put("/thresholds/{rule_id:str}", status_code=200, summary="Set this patient's thresholds for one rule")
    async def put_thresholds(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        rule_id: str,
        data: ThresholdsIn,
    ) -> Response[dict[str, Any]]:
        await require_link(request, db, clinician, patient_id, "annotate", "thresholds.update")
        answer = await set_thresholds(db, clinician, patient_id, rule_id, data)
        request.app.state.evaluator.schedule(patient_id)  # the flags follow the new thresholds
        return Response(answer, headers=NO_STORE)


async def _measures(db: AsyncSession, patient_id: uuid.UUID, days: int) -> MeasuresOut:
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


Days = Annotated[int, Parameter(ge=7, le=56, description="How many local days, up to 8 weeks")]


@get(
    "/api/v1/measures",
    tags=["flags"],
    summary="My counts, baseline, completeness and Penn band from my log",
    dependencies={"patient": Provide(provide_patient)},
)
async def my_measures(db: AsyncSession, patient: Principal, days: Days = 28) -> Response[MeasuresOut]:
    return Response(await _measures(db, patient.user_id, days), headers=NO_STORE)


@get(
    "/api/v1/patients/{patient_id:uuid}/measures",
    tags=["flags (clinician)"],
    summary="A linked patient's derived measures",
    dependencies={"clinician": Provide(provide_clinician)},
)
async def patient_measures(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, days: Days = 28
) -> Response[MeasuresOut]:
    await require_link(request, db, clinician, patient_id, "view", "measures.read")
    return Response(await _measures(db, patient_id, days), headers=NO_STORE)


def _conditions(rule_id: str) -> list[str]:
    if rule_id in ANY_CONDITION:
        return ["any"]
    found = sorted(c for c, ids in PROFILES.items() if rule_id in ids)
    return [*found, "itb_pump"] if rule_id in PUMP_RULES else found


@get("/api/v1/rules", tags=["flags"], summary="The follow-up rules: versions, thresholds with their ranges, sources")
async def list_rules() -> list[RuleOut]:
    return [
        RuleOut(
            id=r.id,
            name=r.name,
            version=r.version,
            urgency=r.urgency,
            defaults=dict(r.defaults),
            limits={k: LimitOut(min=v.low, max=v.high, whole=v.whole, words=v.words) for k, v in r.limits.items()},
            source=r.source,
            conditions=_conditions(r.id),
            needs_complete_data=r.needs_complete_data,
            recede_days=r.recede_days,
            renewal=r.renewal,
        )
        for r in RULES.values()
    ]


FLAG_ROUTES: list[Any] = [PatientFlagController, ClinicianFlagController, list_rules, my_measures, patient_measures]
