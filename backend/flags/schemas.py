"""Shapes of the flag API: the patient's wording and the clinician's wording of the same flag."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from backend.diary.schemas import Input, Instant


class PatientFlagOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    rule_id: str
    urgency: str
    status: str
    message: str
    window_start: dt.date
    window_end: dt.date
    evidence_episodes: list[uuid.UUID]
    evidence_days: list[dt.date]
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None


class FlagEventOut(msgspec.Struct, kw_only=True):
    at: dt.datetime
    action: str
    actor_id: uuid.UUID | None
    note: str | None


class ClinicianFlagOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    rule_id: str
    rule_name: str
    rule_version: int
    urgency: str
    status: str
    message: str
    patient_message: str
    thresholds: dict[str, float]
    window_start: dt.date
    window_end: dt.date
    evidence_episodes: list[uuid.UUID]
    evidence_days: list[dt.date]
    opened_at: dt.datetime
    last_fired_at: dt.datetime
    updated_at: dt.datetime
    snoozed_until: dt.datetime | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution_note: str | None
    history: list[FlagEventOut]


class ResolveIn(Input, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, Meta(min_length=1, max_length=2000)]


class SnoozeIn(Input, kw_only=True, forbid_unknown_fields=True):
    until: Instant
    note: Annotated[str, Meta(max_length=2000)] | None = None


class ThresholdsIn(Input, kw_only=True, forbid_unknown_fields=True):
    thresholds: Annotated[dict[str, Annotated[float, Meta(ge=0, le=100_000)]], Meta(max_length=20)] = {}
    enabled: bool | None = None


class RuleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    version: int
    urgency: str
    defaults: dict[str, float]
    source: str
    needs_complete_data: bool
    recede_days: int


class MeasuresOut(msgspec.Struct, kw_only=True):
    """The derived measures the rules and reports share, for the last ``days`` local days."""

    days: int
    first_day: dt.date
    last_day: dt.date
    daily_counts: dict[str, int]
    weekly_counts: list[int]
    baseline_per_day: float | None
    days_logged_last_7: int
    psfs_from_log: int
    psfs_self_rated: int | None
    share_of_nights_disturbed: float | None
