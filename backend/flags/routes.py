"""Flags over JSON: the patient's own (/api/v1/flags) and a linked clinician's view and actions
(/api/v1/patients/{patient_id}/flags, /thresholds)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import provide_clinician, provide_patient
from backend.accounts.sessions import Principal
from backend.care.access import require_link
from backend.db import utcnow
from backend.diary.models import PennRating
from backend.flags import lifecycle, measures
from backend.flags.engine import RULES
from backend.flags.models import LIVE_STATUSES, Flag, FlagEvent, ThresholdOverride
from backend.flags.rules.base import URGENCY_RANK
from backend.flags.schemas import (
    ClinicianFlagOut,
    FlagEventOut,
    MeasuresOut,
    PatientFlagOut,
    ResolveIn,
    RuleOut,
    SnoozeIn,
    ThresholdsIn,
)
from backend.flags.services import load_diary
from backend.problems import FieldError, Problem, invalid, not_found

NO_STORE = {"Cache-Control": "no-store"}
StatusFilter = Annotated[Literal["live", "all"], Parameter(description="live: open, acknowledged or snoozed")]


def _order(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (f.status == "resolved", URGENCY_RANK[f.urgency], -f.updated_at.timestamp()))


def patient_flag_out(flag: Flag) -> PatientFlagOut:
    return PatientFlagOut(
        id=flag.id, rule_id=flag.rule_id, urgency=flag.urgency, status=flag.status, message=flag.patient_message,
        window_start=flag.window_start, window_end=flag.window_end,
        evidence_episodes=[uuid.UUID(e) for e in flag.evidence_episodes],
        evidence_days=[dt.date.fromisoformat(d) for d in flag.evidence_days],
        opened_at=flag.opened_at, updated_at=flag.updated_at, resolved_at=flag.resolved_at,
    )  # fmt: skip


def clinician_flag_out(flag: Flag, history: list[FlagEvent]) -> ClinicianFlagOut:
    return ClinicianFlagOut(
        id=flag.id, rule_id=flag.rule_id, rule_name=RULES[flag.rule_id].name, rule_version=flag.rule_version,
        urgency=flag.urgency, status=flag.status, message=flag.clinician_message,
        patient_message=flag.patient_message, thresholds=dict(flag.thresholds),
        window_start=flag.window_start, window_end=flag.window_end,
        evidence_episodes=[uuid.UUID(e) for e in flag.evidence_episodes],
        evidence_days=[dt.date.fromisoformat(d) for d in flag.evidence_days],
        opened_at=flag.opened_at, last_fired_at=flag.last_fired_at, updated_at=flag.updated_at,
        snoozed_until=flag.snoozed_until, acknowledged_at=flag.acknowledged_at, resolved_at=flag.resolved_at,
        resolution_note=flag.resolution_note,
        history=[FlagEventOut(at=e.at, action=e.action, actor_id=e.actor_id, note=e.note) for e in history],
    )  # fmt: skip


async def _flags(db: AsyncSession, patient_id: uuid.UUID, status: str) -> list[Flag]:
    query = select(Flag).where(Flag.patient_id == patient_id)
    if status == "live":
        query = query.where(Flag.status.in_(LIVE_STATUSES))
    return _order(list((await db.execute(query)).scalars()))


class PatientFlagController(Controller):
    path = "/api/v1/flags"
    tags = ["flags"]
    dependencies = {"patient": Provide(provide_patient)}

    @get("/", summary="My flags, most urgent first, in plain words")
    async def my_flags(
        self, db: AsyncSession, patient: Principal, status: StatusFilter = "live"
    ) -> Response[list[PatientFlagOut]]:
        return Response([patient_flag_out(f) for f in await _flags(db, patient.user_id, status)], headers=NO_STORE)

    @post("/{flag_id:uuid}/checked", status_code=200, summary="I went through the trigger checklist (sudden increase)")
    async def checked(self, db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[PatientFlagOut]:
        flag = await db.get(Flag, (patient.user_id, flag_id))
        if flag is None:
            raise not_found("flag")
        if flag.rule_id != "S3" or flag.status not in LIVE_STATUSES:
            raise Problem(409, "Only a live 'sudden increase' flag has a trigger checklist.", code="no-checklist")
        now = utcnow()
        flag.patient_checked_at = flag.patient_checked_at or now
        db.add(FlagEvent(patient_id=patient.user_id, flag_id=flag.id, at=now, action="checklist-done",
                         actor_id=patient.user_id))  # fmt: skip
        await db.commit()
        return Response(patient_flag_out(flag), headers=NO_STORE)


class ClinicianFlagController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}"
    tags = ["flags (clinician)"]
    dependencies = {"clinician": Provide(provide_clinician)}

    async def _flag(self, db: AsyncSession, patient_id: uuid.UUID, flag_id: uuid.UUID) -> Flag:
        flag = await db.get(Flag, (patient_id, flag_id))
        if flag is None:
            raise not_found("flag")
        return flag

    async def _answer(self, db: AsyncSession, flag: Flag) -> Response[ClinicianFlagOut]:
        history = list((await db.execute(select(FlagEvent).where(
            FlagEvent.patient_id == flag.patient_id, FlagEvent.flag_id == flag.id).order_by(FlagEvent.at))).scalars())  # fmt: skip
        return Response(clinician_flag_out(flag, history), headers=NO_STORE)

    @get("/flags", summary="A linked patient's flags, most urgent first, with evidence and history")
    async def list_flags(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
        status: StatusFilter = "live",
    ) -> Response[list[ClinicianFlagOut]]:  # fmt: skip
        await require_link(request, db, clinician, patient_id, "view", "flags.read")
        flags = await _flags(db, patient_id, status)
        events = list((await db.execute(select(FlagEvent).where(FlagEvent.patient_id == patient_id)
                                        .order_by(FlagEvent.at))).scalars())  # fmt: skip
        return Response(
            [clinician_flag_out(f, [e for e in events if e.flag_id == f.id]) for f in flags], headers=NO_STORE
        )

    @post("/flags/{flag_id:uuid}/acknowledge", status_code=200, summary="I have seen this flag")
    async def acknowledge(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
        flag_id: uuid.UUID,
    ) -> Response[ClinicianFlagOut]:  # fmt: skip
        await require_link(request, db, clinician, patient_id, "annotate", "flags.acknowledge")
        return await self._answer(db, await lifecycle.acknowledge(db, clinician, patient_id, flag_id))

    @post("/flags/{flag_id:uuid}/resolve", status_code=200, summary="Close this flag, with a note")
    async def resolve(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
        flag_id: uuid.UUID, data: ResolveIn,
    ) -> Response[ClinicianFlagOut]:  # fmt: skip
        await require_link(request, db, clinician, patient_id, "annotate", "flags.resolve")
        return await self._answer(db, await lifecycle.resolve(db, clinician, patient_id, flag_id, data.note))

    @post("/flags/{flag_id:uuid}/snooze", status_code=200, summary="Hide this flag from the triage list until a time")
    async def snooze(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
        flag_id: uuid.UUID, data: SnoozeIn,
    ) -> Response[ClinicianFlagOut]:  # fmt: skip
        await require_link(request, db, clinician, patient_id, "annotate", "flags.snooze")
        now = utcnow()
        if data.until <= now or (data.until - now).days > 90:
            raise invalid([FieldError("until", "must be in the future, at most 90 days ahead")])
        flag = await self._flag(db, patient_id, flag_id)
        if flag.status == "resolved":
            raise Problem(409, "This flag is already resolved.", code="flag-resolved")
        if flag.urgency == "urgent":
            raise Problem(409, "Urgent flags cannot be snoozed; acknowledge or resolve them.", code="urgent-no-snooze")
        flag.status, flag.snoozed_until, flag.updated_at = "snoozed", data.until, now
        db.add(FlagEvent(patient_id=patient_id, flag_id=flag.id, at=now, action="snoozed", actor_id=clinician.user_id,
                         note=data.note))  # fmt: skip
        await db.commit()
        return await self._answer(db, flag)

    @put("/thresholds/{rule_id:str}", status_code=200, summary="Set this patient's thresholds for one rule")
    async def set_thresholds(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
        rule_id: str, data: ThresholdsIn,
    ) -> Response[dict[str, Any]]:  # fmt: skip
        await require_link(request, db, clinician, patient_id, "annotate", "thresholds.update")
        rule = RULES.get(rule_id)
        if rule is None:
            raise not_found("rule")
        unknown = [k for k in data.thresholds if k not in rule.defaults]
        if unknown:
            raise invalid([FieldError(f"thresholds.{k}", f"is not a threshold of {rule_id}; use one of "
                                                         f"{', '.join(rule.defaults) or 'none'}") for k in unknown])  # fmt: skip
        values = dict(data.thresholds)
        if data.enabled is not None:
            values["enabled"] = 1.0 if data.enabled else 0.0
        now = utcnow()
        row = await db.get(ThresholdOverride, (patient_id, rule_id))
        if row is None:
            db.add(ThresholdOverride(patient_id=patient_id, rule_id=rule_id, thresholds=values,
                                     set_by=clinician.user_id, set_at=now))  # fmt: skip
        else:
            row.thresholds, row.set_by, row.set_at = values, clinician.user_id, now
        await db.commit()
        return Response({"rule_id": rule_id, "thresholds": {**rule.defaults, **data.thresholds},
                         "enabled": data.enabled}, headers=NO_STORE)  # fmt: skip


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
        days=days, first_day=window[0], last_day=window[-1],
        daily_counts={d.isoformat(): n for d, n in measures.daily_counts(diary, window).items()},
        weekly_counts=measures.weekly_counts(diary, max(1, days // 7)),
        baseline_per_day=base.value if base else None,
        days_logged_last_7=measures.completeness(diary, 7)[0],
        psfs_from_log=measures.psfs_band_from_log(diary), psfs_self_rated=latest_penn,
        share_of_nights_disturbed=measures.share_of_nights_disturbed(diary, 7),
    )  # fmt: skip


Days = Annotated[int, Parameter(ge=7, le=56, description="How many local days, up to 8 weeks")]


@get("/api/v1/measures", tags=["flags"], summary="My counts, baseline, completeness and Penn band from my log",
     dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def my_measures(db: AsyncSession, patient: Principal, days: Days = 28) -> Response[MeasuresOut]:
    return Response(await _measures(db, patient.user_id, days), headers=NO_STORE)


@get("/api/v1/patients/{patient_id:uuid}/measures", tags=["flags (clinician)"],
     summary="A linked patient's derived measures", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def patient_measures(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, days: Days = 28
) -> Response[MeasuresOut]:
    await require_link(request, db, clinician, patient_id, "view", "measures.read")
    return Response(await _measures(db, patient_id, days), headers=NO_STORE)


@get("/api/v1/rules", tags=["flags"], summary="The follow-up rules, their versions, default thresholds and sources")
async def list_rules() -> list[RuleOut]:
    return [
        RuleOut(
            id=r.id,
            name=r.name,
            version=r.version,
            urgency=r.urgency,
            defaults=dict(r.defaults),
            source=r.source,
            needs_complete_data=r.needs_complete_data,
            recede_days=r.recede_days,
        )
        for r in RULES.values()
    ]


FLAG_ROUTES: list[Any] = [PatientFlagController, ClinicianFlagController, list_rules, my_measures, patient_measures]
