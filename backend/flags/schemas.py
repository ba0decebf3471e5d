"""Shapes of the flag API: the patient's wording and the clinician's wording of the same flag."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from backend.diary.schemas import Instant
from backend.shared.schemas import Input


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
    read: bool  # "I've read this" covers the flag as it stands (new signs since make it unread again)
    previous_id: uuid.UUID | None  # the resolved flag this one was raised again after


class FlagEventOut(msgspec.Struct, kw_only=True):
    at: dt.datetime
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None  # who acted, as they call themselves (the patient, or the clinician)
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
    resolved_by: uuid.UUID | None
    resolved_by_name: str | None
    resolution_note: str | None
    judged_at: dt.datetime | None  # the last acknowledge, snooze or resolve: it stands for the signs it saw
    previous_id: uuid.UUID | None  # the resolved flag this one was raised again after (on newer entries only)
    history: list[FlagEventOut]


class ResolveIn(Input, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, Meta(min_length=1, max_length=2000)]


class SnoozeIn(Input, kw_only=True, forbid_unknown_fields=True):
    until: Instant
    note: Annotated[str, Meta(max_length=2000)] | None = None


class ThresholdsIn(Input, kw_only=True, forbid_unknown_fields=True):
    """Each value is checked against the range its rule declares (GET /api/v1/rules), 422 naming it otherwise."""

    thresholds: Annotated[dict[str, float], Meta(max_length=20)] = {}
    enabled: bool | None = None


class LimitOut(msgspec.Struct, kw_only=True):
    min: float
    max: float
    whole: bool
    words: str


class RuleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    version: int
    urgency: str
    defaults: dict[str, float]
    limits: dict[str, LimitOut]  # the values a clinician may set for this patient, per threshold
    source: str
    conditions: list[str]  # the conditions it runs for; ["any"] for every condition (warning signs)
    needs_complete_data: bool
    recede_days: int
    renewal: str  # after a judgment: "entry" (any new entry raises it again) or "pattern" (a whole new pattern)


class RuleFailureOut(msgspec.Struct, kw_only=True):
    """A rule that could not be checked for the patient at its last evaluation; the other rules ran."""

    rule_id: str
    rule_name: str
    error: str
    since: dt.datetime
    last: dt.datetime
    failures: int


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
