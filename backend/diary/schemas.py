"""Request and response shapes of the diary API (msgspec Structs: fast, strict, and they generate the OpenAPI schema).

Inputs refuse unknown fields, so a typo or a client trying to set ``patient_id`` or ``version`` is told so instead of
being silently ignored (ASVS 15.3.3). Cross-field rules (end after start, dates in range...) live in validation.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.diary.catalog import (
    BodySite,
    Condition,
    Context,
    EpisodeKind,
    Impact,
    Language,
    MedsTaken,
    RegimenKind,
    Reporter,
    Side,
    Symptom,
    TreatmentKind,
    Trigger,
)
from backend.shared.schemas import Input

Instant = Annotated[dt.datetime, Meta(tz=True, description="ISO 8601 date and time with a UTC offset")]
Score10 = Annotated[int, Meta(ge=0, le=10)]
Note = Annotated[str, Meta(max_length=2000)]
ShortText = Annotated[str, Meta(min_length=1, max_length=120)]
# The form of an ISO week, with ASCII digits only ([0-9], not \d, which also matches Arabic-Indic and other digits);
# whether the year has that week is validation.check_penn's to say (422).
ISO_WEEK = r"^[0-9]{4}-W[0-9]{2}$"
IsoWeek = Annotated[str, Meta(pattern=ISO_WEEK, description="ISO week, e.g. 2026-W48")]
SciLevel = Annotated[str, Meta(pattern=r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24-hour clock")]


class BodySiteEntry(Input, kw_only=True, forbid_unknown_fields=True):
    site: BodySite
    side: Side


class Treatment(Input, kw_only=True, forbid_unknown_fields=True):
    kind: TreatmentKind
    name: ShortText | None = None
    dose: ShortText | None = None
    relief: Score10 | None = None
    minutes_to_relief: Annotated[int, Meta(ge=0, le=1440)] | None = None


class EpisodeIn(Input, kw_only=True, forbid_unknown_fields=True):
    kind: EpisodeKind
    started_at: Instant
    ended_at: Instant | None = None
    duration_seconds: Annotated[int, Meta(ge=1, le=86_400)] | None = None
    ongoing: bool = False
    intensity: Score10
    body_sites: Annotated[list[BodySiteEntry], Meta(min_length=1, max_length=20)]
    woke_from_sleep: bool | None = None
    triggers: Annotated[list[Trigger], Meta(max_length=24)] = []
    own_triggers: Annotated[list[Annotated[str, Meta(min_length=1, max_length=60)]], Meta(max_length=5)] = []
    symptoms: Annotated[list[Symptom], Meta(max_length=16)] = []
    context: Annotated[list[Context], Meta(max_length=5)] = []
    treatments: Annotated[list[Treatment], Meta(max_length=10)] = []
    impacts: Annotated[list[Impact], Meta(max_length=6)] = []
    note: Note | None = None
    reporter: Reporter = "self"
    entered_at: Instant | None = None


class SafetyNotice(msgspec.Struct, kw_only=True):
    """Advice the patient must see next to an entry that matches an urgent follow-up rule."""

    rule_id: str
    urgency: str
    message: str


class EpisodeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    kind: EpisodeKind
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_seconds: int | None
    ongoing: bool
    intensity: int
    body_sites: list[BodySiteEntry]
    woke_from_sleep: bool | None
    triggers: list[Trigger]
    own_triggers: list[str]
    symptoms: list[Symptom]
    context: list[Context]
    treatments: list[Treatment]
    impacts: list[Impact]
    note: str | None
    reporter: Reporter
    entered_at: dt.datetime
    received_at: dt.datetime
    updated_at: dt.datetime
    safety: list[SafetyNotice] = []


class EpisodePage(msgspec.Struct, kw_only=True):
    items: list[EpisodeOut]
    next_cursor: str | None


class CheckInIn(Input, kw_only=True, forbid_unknown_fields=True):
    no_episodes: bool
    stiffness: Score10 | None = None
    sleep_disturbance: Score10 | None = None
    pain: Score10 | None = None
    meds_taken: MedsTaken | None = None
    symptoms: Annotated[list[Symptom], Meta(max_length=16)] = []
    systolic_bp: Annotated[int, Meta(ge=50, le=300)] | None = None
    temperature_c: Annotated[float, Meta(ge=30.0, le=45.0)] | None = None
    new_or_worse_symptoms: bool | None = None
    note: Note | None = None
    entered_at: Instant | None = None


class CheckInOut(msgspec.Struct, kw_only=True):
    day: dt.date
    version: int
    no_episodes: bool
    stiffness: int | None
    sleep_disturbance: int | None
    pain: int | None
    meds_taken: MedsTaken | None
    symptoms: list[Symptom]
    systolic_bp: int | None
    temperature_c: float | None
    new_or_worse_symptoms: bool | None
    note: str | None
    entered_at: dt.datetime
    updated_at: dt.datetime
    safety: list[SafetyNotice] = []


class PennIn(Input, kw_only=True, forbid_unknown_fields=True):
    frequency: Annotated[int, Meta(ge=0, le=4, description="Penn spasm frequency, 0 (none) to 4 (>10 an hour)")]
    severity: (
        Annotated[int, Meta(ge=1, le=3, description="1 mild, 2 moderate, 3 severe; omit when frequency is 0")] | None
    ) = None
    entered_at: Instant | None = None


class PennOut(msgspec.Struct, kw_only=True):
    week: str
    version: int
    frequency: int
    severity: int | None
    entered_at: dt.datetime
    updated_at: dt.datetime


class RegimenIn(Input, kw_only=True, forbid_unknown_fields=True):
    kind: RegimenKind
    name: ShortText
    dose: ShortText | None = None
    schedule: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    times: Annotated[list[ClockTime], Meta(max_length=8)] = []
    start_date: dt.date
    stop_date: dt.date | None = None
    stopped_by_clinician: bool = False
    note: Note | None = None
    entered_at: Instant | None = None


class RegimenOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    kind: RegimenKind
    name: str
    dose: str | None
    schedule: str | None
    times: list[str]
    start_date: dt.date
    stop_date: dt.date | None
    stopped_by_clinician: bool
    note: str | None
    entered_at: dt.datetime
    updated_at: dt.datetime


class ProfileIn(Input, kw_only=True, forbid_unknown_fields=True):
    # None yet is a profile too: a new account starts with none, and the warning signs apply whatever the condition.
    conditions: Annotated[list[Condition], Meta(max_length=7)]
    sci_level: SciLevel | None = None
    sci_complete: bool | None = None
    itb_pump: bool = False
    itb_refill_date: dt.date | None = None
    baseline_systolic: Annotated[int, Meta(ge=50, le=250)] | None = None
    spasticity_helps_function: bool | None = None
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)]
    sleep_start: ClockTime = "23:00"
    sleep_end: ClockTime = "07:00"
    language: Language = "en"


class ProfileOut(msgspec.Struct, kw_only=True):
    version: int
    conditions: list[Condition]
    sci_level: str | None
    sci_complete: bool | None
    itb_pump: bool
    itb_refill_date: dt.date | None
    baseline_systolic: int | None
    spasticity_helps_function: bool | None
    time_zone: str
    sleep_start: str
    sleep_end: str
    language: Language
    updated_at: dt.datetime


class Tombstone(msgspec.Struct, kw_only=True):
    type: str
    id: uuid.UUID
    version: int
    deleted_at: dt.datetime


class SyncPage(msgspec.Struct, kw_only=True):
    episodes: list[EpisodeOut]
    checkins: list[CheckInOut]
    penn: list[PennOut]
    regimens: list[RegimenOut]
    deleted: list[Tombstone]
    cursor: str
    more: bool
    server_time: dt.datetime


DoseStatus = Literal["taken", "skipped", "later"]
# A dose of the plan: the local day and the plan's time of day ("2026-12-04T08:00"), as the reminder names it.
DOSE_SLOT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]$"
DoseSlot = Annotated[
    str, Meta(pattern=DOSE_SLOT, description="The local day and the plan's time of day, e.g. 2026-12-04T08:00")
]


class DoseIn(Input, kw_only=True, forbid_unknown_fields=True):
    regimen_id: uuid.UUID
    scheduled_for: DoseSlot
    status: DoseStatus


class DoseAnswerIn(Input, kw_only=True, forbid_unknown_fields=True):
    status: DoseStatus


class DoseOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    regimen_id: uuid.UUID
    scheduled_for: str
    scheduled_at: dt.datetime
    status: DoseStatus
    answered_at: dt.datetime
    updated_at: dt.datetime
