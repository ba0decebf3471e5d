"""The whole diary as one CSV file, one row per entry, safe to open in a spreadsheet (ASVS 1.2.10)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from backend.diary.catalog import BODY_SITES, EPISODE_KINDS, MEDS_TAKEN, TREATMENTS, TRIGGERS
from backend.diary.models import CheckIn, Episode, PennRating, Regimen
from backend.diary.records import with_offset

COLUMNS = [
    "record",
    "id",
    "start",
    "end",
    "duration_seconds",
    "ongoing",
    "kind",
    "intensity",
    "body_sites",
    "woke_from_sleep",
    "triggers",
    "symptoms",
    "treatments",
    "impacts",
    "day",
    "no_episodes",
    "stiffness",
    "sleep_disturbance",
    "pain",
    "regular_medicines",
    "penn_week",
    "penn_frequency",
    "penn_severity",
    "regimen",
    "dose",
    "schedule",
    "stop",
    "note",
    "entered_at",
    "version",
]
# A spreadsheet runs a cell that starts with one of these as a formula; a leading apostrophe makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _medicines(value: str | None) -> str:
    # "Not taken" (the patient said none) must never look like "nothing recorded" (the question was not answered).
    if value is None:
        return "no answer recorded"
    if value == "none":
        return "not taken"
    return MEDS_TAKEN[value]


def _episode(e: Episode) -> dict[str, Any]:
    start = with_offset(e.started_at, e.start_offset)
    return {
        "record": "episode",
        "id": str(e.id),
        "start": start.isoformat(),
        "end": with_offset(e.ended_at, e.end_offset or 0).isoformat() if e.ended_at else "",
        "duration_seconds": e.duration_seconds if e.duration_seconds is not None else "",
        "ongoing": "yes" if e.ongoing else "no",
        "kind": EPISODE_KINDS[e.kind],
        "intensity": e.intensity,
        "body_sites": "; ".join(f"{BODY_SITES[b['site']][0]} ({b['side']})" for b in e.body_sites),
        "woke_from_sleep": {True: "yes", False: "no", None: ""}[e.woke_from_sleep],
        "triggers": "; ".join([TRIGGERS[t] for t in e.triggers] + list(e.own_triggers)),
        "symptoms": "; ".join(e.symptoms),
        "treatments": "; ".join(
            f"{t.get('name') or TREATMENTS[t['kind']]}"
            + (f" (relief {t['relief']}/10)" if t.get("relief") is not None else "")
            for t in e.treatments
        ),
        "impacts": "; ".join(e.impacts),
        "note": e.note or "",
        "entered_at": with_offset(e.entered_at, e.entered_offset).isoformat(),
        "version": e.version,
    }


def _checkin(c: CheckIn) -> dict[str, Any]:
    return {
        "record": "check-in",
        "day": c.day.isoformat(),
        "no_episodes": "yes" if c.no_episodes else "no",
        "stiffness": "" if c.stiffness is None else c.stiffness,
        "sleep_disturbance": "" if c.sleep_disturbance is None else c.sleep_disturbance,
        "pain": "" if c.pain is None else c.pain,
        "regular_medicines": _medicines(c.meds_taken),
        "symptoms": "; ".join(c.symptoms),
        "note": c.note or "",
        "entered_at": c.entered_at.isoformat(),
        "version": c.version,
    }


def _penn(p: PennRating) -> dict[str, Any]:
    return {
        "record": "penn",
        "penn_week": p.week,
        "penn_frequency": p.frequency,
        "penn_severity": "" if p.severity is None else p.severity,
        "entered_at": p.entered_at.isoformat(),
        "version": p.version,
    }


def _regimen(r: Regimen) -> dict[str, Any]:
    return {
        "record": "regimen",
        "id": str(r.id),
        "kind": r.kind,
        "regimen": r.name,
        "dose": r.dose or "",
        "schedule": r.schedule or "",
        "start": r.start_date.isoformat(),
        "stop": r.stop_date.isoformat() if r.stop_date else "",
        "note": r.note or "",
        "entered_at": r.entered_at.isoformat(),
        "version": r.version,
    }


def diary_csv(
    episodes: Iterable[Episode], checkins: Iterable[CheckIn], penn: Iterable[PennRating], regimens: Iterable[Regimen]
) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    rows = [_episode(e) for e in episodes if e.deleted_at is None]
    rows += [_checkin(c) for c in checkins] + [_penn(p) for p in penn]
    rows += [_regimen(r) for r in regimens if r.deleted_at is None]
    for row in rows:
        writer.writerow({k: neutralise(v) for k, v in row.items()})
    return out.getvalue()


async def load_csv(db: Any, patient_id: Any) -> str:
    from sqlalchemy import select

    def query(model: Any, order: Any) -> Any:
        return select(model).where(model.patient_id == patient_id).order_by(order)

    return diary_csv(
        (await db.execute(query(Episode, Episode.started_at))).scalars(),
        (await db.execute(query(CheckIn, CheckIn.day))).scalars(),
        (await db.execute(query(PennRating, PennRating.week))).scalars(),
        (await db.execute(query(Regimen, Regimen.start_date))).scalars(),
    )
