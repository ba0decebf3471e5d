"""Stored diary rows (or anything with their attributes) as the plain data the rules read (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from backend.flags.window import Day, Ep, Patient


def episode_from_row(row: Any) -> Ep:
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


def day_from_row(row: Any) -> Day:
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
    profile: Any,
    enrolled_on: dt.date | None,
    overrides: Mapping[str, Mapping[str, float]],
    first_episode_on: dt.date | None = None,
) -> Patient:
    """What the rules need to know about the patient; a missing profile means no conditions, UTC, a 23-07 night."""
    return Patient(
        conditions=frozenset(profile.conditions if profile else ()),
        time_zone=profile.time_zone if profile else "UTC",
        sci_level=profile.sci_level if profile else None,
        itb_pump=bool(profile and profile.itb_pump),
        itb_refill_date=profile.itb_refill_date if profile else None,
        baseline_systolic=profile.baseline_systolic if profile else None,
        enrolled_on=enrolled_on,
        first_episode_on=first_episode_on,
        sleep_start=profile.sleep_start if profile else dt.time(23),
        sleep_end=profile.sleep_end if profile else dt.time(7),
        enabled_rules=frozenset(r for r, o in overrides.items() if o.get("enabled") == 1),
    )
