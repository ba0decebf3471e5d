"""Translating between API shapes and rows. Instants keep the UTC offset the phone showed, so that an episode
logged at 07:30 in Madrid reads back as 07:30+01:00, exactly as sent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.diary.schemas import (
    BodySiteEntry,
    CheckInIn,
    CheckInOut,
    EpisodeIn,
    EpisodeOut,
    PennIn,
    PennOut,
    ProfileIn,
    ProfileOut,
    RegimenIn,
    RegimenOut,
    Treatment,
)


def zone_of(profile: PatientProfile | None) -> ZoneInfo:
    """The patient's time zone (checked when it was saved), or UTC when there is no profile."""
    return zone_of_name(profile.time_zone if profile is not None else None)


def zone_of_name(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def iso_week(day: dt.date) -> str:
    """The ISO week a day falls in, as the Penn rating's key: 2026-W49."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def offset_of(value: dt.datetime) -> int:
    delta = value.utcoffset() or dt.timedelta(0)
    return int(delta.total_seconds() // 60)


def with_offset(value: dt.datetime, minutes: int) -> dt.datetime:
    return value.astimezone(dt.timezone(dt.timedelta(minutes=minutes)) if minutes else dt.UTC)


def episode_values(data: EpisodeIn) -> dict[str, Any]:
    return {
        "kind": data.kind,
        "started_at": data.started_at,
        "start_offset": offset_of(data.started_at),
        "ended_at": data.ended_at,
        "end_offset": offset_of(data.ended_at) if data.ended_at else None,
        "duration_seconds": data.duration_seconds,
        "ongoing": data.ongoing,
        "intensity": data.intensity,
        "body_sites": [{"site": b.site, "side": b.side} for b in data.body_sites],
        "woke_from_sleep": data.woke_from_sleep,
        "triggers": list(data.triggers),
        "own_triggers": list(data.own_triggers),
        "symptoms": list(data.symptoms),
        "context": list(data.context),
        "treatments": [msgspec.to_builtins(t) for t in data.treatments],
        "impacts": list(data.impacts),
        "note": data.note,
        "reporter": data.reporter,
    }


def entry_times(entered_at: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    entered = entered_at or now
    return {"entered_at": entered, "entered_offset": offset_of(entered)}


def episode_out(row: Episode) -> EpisodeOut:
    return EpisodeOut(
        id=row.id,
        version=row.version,
        kind=row.kind,  # type: ignore[arg-type]
        started_at=with_offset(row.started_at, row.start_offset),
        ended_at=with_offset(row.ended_at, row.end_offset or 0) if row.ended_at else None,
        duration_seconds=row.duration_seconds,
        ongoing=row.ongoing,
        intensity=row.intensity,
        body_sites=[BodySiteEntry(site=b["site"], side=b["side"]) for b in row.body_sites],  # type: ignore[arg-type]
        woke_from_sleep=row.woke_from_sleep,
        triggers=list(row.triggers),  # type: ignore[arg-type]
        own_triggers=list(row.own_triggers),
        symptoms=list(row.symptoms),  # type: ignore[arg-type]
        context=list(row.context),  # type: ignore[arg-type]
        treatments=msgspec.convert(row.treatments, list[Treatment]),
        impacts=list(row.impacts),  # type: ignore[arg-type]
        note=row.note,
        reporter=row.reporter,  # type: ignore[arg-type]
        entered_at=with_offset(row.entered_at, row.entered_offset),
        received_at=row.received_at,
        updated_at=row.updated_at,
    )


def checkin_values(data: CheckInIn) -> dict[str, Any]:
    return {
        "no_episodes": data.no_episodes,
        "stiffness": data.stiffness,
        "sleep_disturbance": data.sleep_disturbance,
        "pain": data.pain,
        "meds_taken": data.meds_taken,
        "symptoms": list(data.symptoms),
        "systolic_bp": data.systolic_bp,
        "temperature_c": data.temperature_c,
        "new_or_worse_symptoms": data.new_or_worse_symptoms,
        "note": data.note,
    }


def checkin_out(row: CheckIn) -> CheckInOut:
    return CheckInOut(
        day=row.day,
        version=row.version,
        no_episodes=row.no_episodes,
        stiffness=row.stiffness,
        sleep_disturbance=row.sleep_disturbance,
        pain=row.pain,
        meds_taken=row.meds_taken,  # type: ignore[arg-type]
        symptoms=list(row.symptoms),  # type: ignore[arg-type]
        systolic_bp=row.systolic_bp,
        temperature_c=row.temperature_c,
        new_or_worse_symptoms=row.new_or_worse_symptoms,
        note=row.note,
        entered_at=row.entered_at.astimezone(dt.UTC),
        updated_at=row.updated_at,
    )


def penn_values(data: PennIn) -> dict[str, Any]:
    return {"frequency": data.frequency, "severity": data.severity}


def penn_out(row: PennRating) -> PennOut:
    return PennOut(
        week=row.week,
        version=row.version,
        frequency=row.frequency,
        severity=row.severity,
        entered_at=row.entered_at.astimezone(dt.UTC),
        updated_at=row.updated_at,
    )


def regimen_values(data: RegimenIn) -> dict[str, Any]:
    return {
        "kind": data.kind,
        "name": data.name,
        "dose": data.dose,
        "schedule": data.schedule,
        "times": list(data.times),
        "start_date": data.start_date,
        "stop_date": data.stop_date,
        "stopped_by_clinician": data.stopped_by_clinician,
        "note": data.note,
    }


def regimen_out(row: Regimen) -> RegimenOut:
    return RegimenOut(
        id=row.id,
        version=row.version,
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        dose=row.dose,
        schedule=row.schedule,
        times=list(row.times),
        start_date=row.start_date,
        stop_date=row.stop_date,
        stopped_by_clinician=row.stopped_by_clinician,
        note=row.note,
        entered_at=row.entered_at.astimezone(dt.UTC),
        updated_at=row.updated_at,
    )


def profile_values(data: ProfileIn) -> dict[str, Any]:
    return {
        "conditions": list(data.conditions),
        "sci_level": data.sci_level,
        "sci_complete": data.sci_complete,
        "itb_pump": data.itb_pump,
        "itb_refill_date": data.itb_refill_date,
        "baseline_systolic": data.baseline_systolic,
        "spasticity_helps_function": data.spasticity_helps_function,
        "time_zone": data.time_zone,
        "sleep_start": dt.time.fromisoformat(data.sleep_start),
        "sleep_end": dt.time.fromisoformat(data.sleep_end),
        "language": data.language,
    }


def profile_out(row: PatientProfile) -> ProfileOut:
    return ProfileOut(
        version=row.version,
        conditions=list(row.conditions),  # type: ignore[arg-type]
        sci_level=row.sci_level,
        sci_complete=row.sci_complete,
        itb_pump=row.itb_pump,
        itb_refill_date=row.itb_refill_date,
        baseline_systolic=row.baseline_systolic,
        spasticity_helps_function=row.spasticity_helps_function,
        time_zone=row.time_zone,
        sleep_start=row.sleep_start.strftime("%H:%M"),
        sleep_end=row.sleep_end.strftime("%H:%M"),
        language=row.language,  # type: ignore[arg-type]
        updated_at=row.updated_at,
    )
