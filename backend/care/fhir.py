"""A patient's diary as an HL7 FHIR R4 Bundle (CLINICAL.md section 4), for their own download and for clinicians.

- each episode is an Observation following the HL7 Symptoms IG's SymptomObservation: code LOINC 75325-1 "Symptom",
  the symptom as SNOMED CT (55300003 cramp, 45352006 spasm, 221360009 spasticity), the episode's period, body sites,
  the 0-10 intensity as a component with a local code (the IG's severity component is coded, not numeric), triggers
  (LOINC 100752-5) and what helped (LOINC 100753-3);
- daily check-ins are survey Observations: pain with LOINC 72514-3, stiffness and sleep disturbance with local codes
  (CLINICAL.md found no LOINC codes for them);
- weekly Penn ratings are survey Observations with local codes;
- medicines in the plan are MedicationStatements, other parts of the plan CarePlans;
- live follow-up flags are Flags, with the rule id and version in the code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from backend.diary.catalog import BODY_SITES, EPISODE_KINDS, REGIMEN_KINDS, TREATMENTS, TRIGGERS
from backend.diary.models import CheckIn, Episode, PennRating, Regimen
from backend.diary.records import with_offset
from backend.flags.models import Flag

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOCAL = "https://spasm-diary.example/fhir/CodeSystem/diary"
SYMPTOM_CODES = {
    "cramp": ("55300003", "Cramp (finding)"),
    "spasm": ("45352006", "Spasm (finding)"),
    "flexor_spasm": ("45352006", "Spasm (finding)"),
    "extensor_spasm": ("45352006", "Spasm (finding)"),
    "stiffness_flare": ("221360009", "Spasticity (finding)"),
}
DRUG_REGIMENS = frozenset({"muscle_relaxant", "antispasmodic", "nutritional_correction", "botulinum_toxin"})


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _local(code: str, display: str) -> dict[str, Any]:
    return _concept(LOCAL, code, display)


def _survey() -> list[dict[str, Any]]:
    return [_concept(OBSERVATION_CATEGORY, "survey", "Survey")]


def _patient_ref(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def episode_observation(e: Episode, patient_id: str) -> dict[str, Any]:
    start = with_offset(e.started_at, e.start_offset)
    if e.ended_at is not None:
        end: dt.datetime | None = with_offset(e.ended_at, e.end_offset or 0)
    elif e.duration_seconds is not None:
        end = start + dt.timedelta(seconds=e.duration_seconds)
    else:
        end = None
    kind_label = EPISODE_KINDS[e.kind]
    value = _concept(SNOMED, *SYMPTOM_CODES[e.kind]) if e.kind in SYMPTOM_CODES else {"text": kind_label}
    value["text"] = kind_label
    components: list[dict[str, Any]] = [
        {"code": _local("intensity-nrs", "Intensity, 0-10 numeric rating"), "valueInteger": e.intensity}
    ]
    for trigger in e.triggers:
        components.append(
            {
                "code": _concept(LOINC, "100752-5", "Exacerbating factors - Reported"),
                "valueCodeableConcept": _local(f"trigger-{trigger}", TRIGGERS[trigger]),
            }
        )
    for text in e.own_triggers:
        components.append(
            {
                "code": _concept(LOINC, "100752-5", "Exacerbating factors - Reported"),
                "valueCodeableConcept": {"text": text},
            }
        )
    for treatment in e.treatments:
        label = treatment.get("name") or TREATMENTS.get(treatment["kind"], treatment["kind"])
        relief = f"; relief {treatment['relief']}/10" if treatment.get("relief") is not None else ""
        components.append(
            {
                "code": _concept(LOINC, "100753-3", "Alleviating factors - Reported"),
                "valueCodeableConcept": {"text": f"{label}{relief}"},
            }
        )
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"episode-{e.id}",
        "meta": {"versionId": str(e.version)},
        "status": "preliminary" if e.ongoing else "final",
        "category": [_local("symptom", "Symptom"), *_survey()],
        "code": _concept(LOINC, "75325-1", "Symptom"),
        "subject": _patient_ref(patient_id),
        "performer": [_patient_ref(patient_id)],
        "issued": e.received_at.isoformat(),
        "valueCodeableConcept": value,
        "bodySite": {"text": ", ".join(f"{BODY_SITES[b['site']][0]} ({b['side']})" for b in e.body_sites)},
        "component": components,
    }
    if end is not None:
        observation["effectivePeriod"] = {"start": start.isoformat(), "end": end.isoformat()}
    else:
        observation["effectiveDateTime"] = start.isoformat()
    if e.note:
        observation["note"] = [{"text": e.note}]
    return observation


def checkin_observations(c: CheckIn, patient_id: str) -> list[dict[str, Any]]:
    out = []
    scores = [
        ("pain", c.pain, _concept(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")),
        ("stiffness", c.stiffness, _local("stiffness-nrs", "Average stiffness over 24 hours, 0-10")),
        ("sleep", c.sleep_disturbance, _local("sleep-disturbance-nrs", "Sleep disturbance from spasms, 0-10")),
    ]
    for name, value, code in scores:
        if value is None:
            continue
        out.append(
            {
                "resourceType": "Observation",
                "id": f"checkin-{c.day.isoformat()}-{name}",
                "status": "final",
                "category": _survey(),
                "code": code,
                "subject": _patient_ref(patient_id),
                "effectiveDateTime": c.day.isoformat(),
                "valueInteger": value,
            }
        )
    out.append(
        {
            "resourceType": "Observation",
            "id": f"checkin-{c.day.isoformat()}-episodes",
            "status": "final",
            "category": _survey(),
            "code": _local("no-episodes-today", "No episodes today"),
            "subject": _patient_ref(patient_id),
            "effectiveDateTime": c.day.isoformat(),
            "valueBoolean": c.no_episodes,
        }
    )
    return out


def penn_observation(p: PennRating, patient_id: str) -> dict[str, Any]:
    components = [{"code": _local("psfs-frequency", "Penn spasm frequency (0-4)"), "valueInteger": p.frequency}]
    if p.severity is not None:
        components.append({"code": _local("psfs-severity", "Penn spasm severity (1-3)"), "valueInteger": p.severity})
    return {
        "resourceType": "Observation",
        "id": f"penn-{p.week}",
        "status": "final",
        "category": _survey(),
        "code": _local("psfs", "Penn Spasm Frequency Scale, weekly self-rating"),
        "subject": _patient_ref(patient_id),
        "effectiveDateTime": dt.date.fromisocalendar(int(p.week[:4]), int(p.week[6:]), 7).isoformat(),
        "component": components,
    }


def regimen_resource(r: Regimen, patient_id: str, today: dt.date) -> dict[str, Any]:
    period: dict[str, str] = {"start": r.start_date.isoformat()}
    if r.stop_date:
        period["end"] = r.stop_date.isoformat()
    finished = r.stop_date is not None and r.stop_date < today
    if r.kind in DRUG_REGIMENS:
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": f"regimen-{r.id}",
            "status": "completed" if finished else "active",
            "medicationCodeableConcept": {"text": r.name},
            "subject": _patient_ref(patient_id),
            "effectivePeriod": period,
        }
        dosage = " ".join(part for part in (r.dose, r.schedule) if part)
        if dosage:
            statement["dosage"] = [{"text": dosage}]
        return statement
    return {
        "resourceType": "CarePlan",
        "id": f"regimen-{r.id}",
        "status": "completed" if finished else "active",
        "intent": "plan",
        "subject": _patient_ref(patient_id),
        "period": period,
        "title": r.name,
        "description": " ".join(p for p in (REGIMEN_KINDS[r.kind], r.schedule) if p),
    }


def flag_resource(f: Flag, patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "id": f"flag-{f.id}",
        "status": "active",
        "category": [_local(f"urgency-{f.urgency}", f"Follow-up: {f.urgency}")],
        "code": {
            "coding": [
                {
                    "system": f"{LOCAL}/rules",
                    "code": f.rule_id,
                    "version": str(f.rule_version),
                    "display": f.clinician_message,
                }
            ],
            "text": f.clinician_message,
        },
        "subject": _patient_ref(patient_id),
        "period": {"start": f.opened_at.isoformat()},
    }


def diary_bundle(
    *,
    patient_id: str,
    display_name: str,
    episodes: Iterable[Episode],
    checkins: Iterable[CheckIn],
    penn: Iterable[PennRating],
    regimens: Iterable[Regimen],
    flags: Iterable[Flag],
    now: dt.datetime,
    base_url: str,
) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": patient_id, "name": [{"text": display_name}]}]
    resources += [episode_observation(e, patient_id) for e in episodes if e.deleted_at is None]
    for c in checkins:
        resources += checkin_observations(c, patient_id)
    resources += [penn_observation(p, patient_id) for p in penn]
    resources += [regimen_resource(r, patient_id, now.date()) for r in regimens if r.deleted_at is None]
    resources += [flag_resource(f, patient_id) for f in flags if f.status != "resolved"]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": f"{base_url}/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


async def load_bundle(db: Any, patient_id: Any, base_url: str) -> dict[str, Any]:
    """Reads one patient's diary and returns it as a Bundle."""
    from sqlalchemy import select

    from backend.accounts.models import User

    user = await db.get(User, patient_id)
    rows = {}
    for name, model, order in (
        ("episodes", Episode, Episode.started_at),
        ("checkins", CheckIn, CheckIn.day),
        ("penn", PennRating, PennRating.week),
        ("regimens", Regimen, Regimen.start_date),
        ("flags", Flag, Flag.opened_at),
    ):
        rows[name] = list(
            (await db.execute(select(model).where(model.patient_id == patient_id).order_by(order))).scalars()
        )
    return diary_bundle(
        patient_id=str(patient_id),
        display_name=user.display_name if user else "",
        now=dt.datetime.now(dt.UTC),
        base_url=base_url,
        **rows,
    )
