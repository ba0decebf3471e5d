"""Flags over JSON: the patient's own (/api/v1/flags) and a linked clinician's view and actions
(/api/v1/patients/{patient_id}/flags, /thresholds, /rule-failures)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.dependencies import TheSafety
from backend.flags import lifecycle, reading
from backend.flags.engine import ANY_CONDITION, PROFILES, PUMP_RULES, RULES
from backend.flags.models import Flag
from backend.flags.schemas import (
    ClinicianFlagOut,
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
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal

NO_STORE = {"Cache-Control": "no-store"}
StatusFilter = Annotated[Literal["live", "all"], Parameter(description="live: open, acknowledged or snoozed")]


class PatientFlagController(Controller):
    path = "/api/v1/flags"
    tags = ["flags"]
    dependencies = {"patient": Provide(provide_patient)}

    @get("/", summary="My flags, most urgent first, in plain words")
    async def my_flags(
        self, db: AsyncSession, patient: Principal, status: StatusFilter = "live"
    ) -> Response[list[PatientFlagOut]]:
        return Response(
            [reading.patient_flag_out(f) for f in await reading.flags_of(db, patient.user_id, status)], headers=NO_STORE
        )

    @post("/{flag_id:uuid}/read", status_code=200, summary="I've read this (it folds away until something new)")
    async def read(self, db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[PatientFlagOut]:
        return Response(reading.patient_flag_out(await lifecycle.mark_read(db, patient, flag_id)), headers=NO_STORE)

    @post("/{flag_id:uuid}/checked", status_code=200, summary="I went through the trigger checklist (sudden increase)")
    async def checked(self, db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[PatientFlagOut]:
        return Response(
            reading.patient_flag_out(await lifecycle.checklist_done(db, patient, flag_id)), headers=NO_STORE
        )


class ClinicianFlagController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}"
    tags = ["flags (clinician)"]
    dependencies = {"clinician": Provide(provide_clinician)}

    async def _answer(self, db: AsyncSession, flag: Flag) -> Response[ClinicianFlagOut]:
        return Response((await reading.clinician_view(db, flag.patient_id, [flag]))[0], headers=NO_STORE)

    @get("/flags", summary="A linked patient's flags, most urgent first, with evidence and history")
    async def list_flags(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        status: StatusFilter = "live",
    ) -> Response[list[ClinicianFlagOut]]:
        await require_link(db, clinician, patient_id, "view", "flags.read", address=client_address(request))
        flags = await reading.flags_of(db, patient_id, status)
        return Response(await reading.clinician_view(db, patient_id, flags), headers=NO_STORE)

    @get("/rule-failures", summary="Rules that could not be checked for this patient (the others ran)")
    async def list_rule_failures(
        self, request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
    ) -> Response[list[RuleFailureOut]]:
        await require_link(db, clinician, patient_id, "view", "flags.read", address=client_address(request))
        return Response(await reading.rule_failures(db, patient_id), headers=NO_STORE)

    @post("/flags/{flag_id:uuid}/acknowledge", status_code=200, summary="I have seen this flag")
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        clinician: Principal,
        patient_id: uuid.UUID,
        flag_id: uuid.UUID,
    ) -> Response[ClinicianFlagOut]:
        await require_link(db, clinician, patient_id, "annotate", "flags.acknowledge", address=client_address(request))
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
        await require_link(db, clinician, patient_id, "annotate", "flags.resolve", address=client_address(request))
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
        await require_link(db, clinician, patient_id, "annotate", "flags.snooze", address=client_address(request))
        flag = await lifecycle.snooze(db, clinician, patient_id, flag_id, data.until, data.note)
        return await self._answer(db, flag)

    @put("/thresholds/{rule_id:str}", status_code=200, summary="Set this patient's thresholds for one rule")
    async def put_thresholds(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        safety: TheSafety,
        clinician: Principal,
        patient_id: uuid.UUID,
        rule_id: str,
        data: ThresholdsIn,
    ) -> Response[dict[str, Any]]:
        await require_link(db, clinician, patient_id, "annotate", "thresholds.update", address=client_address(request))
        answer = await lifecycle.set_thresholds(db, clinician, patient_id, rule_id, data)
        safety.schedule(patient_id)  # the flags follow the new thresholds
        return Response(answer, headers=NO_STORE)


Days = Annotated[int, Parameter(ge=7, le=56, description="How many local days, up to 8 weeks")]


@get(
    "/api/v1/measures",
    tags=["flags"],
    summary="My counts, baseline, completeness and Penn band from my log",
    dependencies={"patient": Provide(provide_patient)},
)
async def my_measures(db: AsyncSession, patient: Principal, days: Days = 28) -> Response[MeasuresOut]:
    return Response(await reading.measures_of(db, patient.user_id, days), headers=NO_STORE)


@get(
    "/api/v1/patients/{patient_id:uuid}/measures",
    tags=["flags (clinician)"],
    summary="A linked patient's derived measures",
    dependencies={"clinician": Provide(provide_clinician)},
)
async def patient_measures(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, days: Days = 28
) -> Response[MeasuresOut]:
    await require_link(db, clinician, patient_id, "view", "measures.read", address=client_address(request))
    return Response(await reading.measures_of(db, patient_id, days), headers=NO_STORE)


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


ROUTES: list[Any] = [PatientFlagController, ClinicianFlagController, list_rules, my_measures, patient_measures]
