"""Shapes of the care area's API: sharing codes and links, the access history, the triage list, Ashworth grades."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.shared.schemas import Input

Scope = Literal["view", "annotate", "notify", "export"]
MUSCLE_GROUPS = (
    "elbow_flexors",
    "elbow_extensors",
    "wrist_flexors",
    "finger_flexors",
    "shoulder_adductors",
    "hip_flexors",
    "hip_adductors",
    "knee_flexors",
    "knee_extensors",
    "ankle_plantarflexors",
    "other",
)


class InvitationIn(Input, kw_only=True, forbid_unknown_fields=True):
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=4)] = msgspec.field(
        default_factory=lambda: ["view", "annotate", "notify", "export"]
    )


class InvitationOut(msgspec.Struct, kw_only=True):
    code: str
    expires_at: dt.datetime
    scopes: list[str]
    qr_svg: str  # the code as a QR code, to show on the patient's screen


class OfferOut(msgspec.Struct, kw_only=True):
    code: str
    expires_at: dt.datetime
    qr_svg: str


class AcceptIn(Input, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=40)]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=4)]


class RedeemIn(Input, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=40)]


class LinkOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: str
    scopes: list[str]
    patient_id: uuid.UUID
    patient_name: str | None
    clinician_id: uuid.UUID
    clinician_name: str | None
    consent_version: str
    consented_at: dt.datetime | None
    revoked_at: dt.datetime | None


class AccessOut(msgspec.Struct, kw_only=True):
    at: dt.datetime
    who: str
    role: str | None
    action: str
    outcome: str


class TriageRow(msgspec.Struct, kw_only=True):
    patient_id: uuid.UUID
    name: str
    open_flags: dict[str, int]
    top_flag: str | None
    top_urgency: str | None
    last_flag_at: dt.datetime | None
    episodes_per_week: float
    baseline_per_week: float | None
    days_logged: int
    period_days: int
    last_reviewed_at: dt.datetime | None
    reviewed_by_me: bool
    daily_counts: list[int]
    first_day: dt.date  # the period's first and last local day where the patient is
    last_day: dt.date
    unchecked_rules: list[str]  # rules that could not be checked at the last evaluation (the others ran)


class AshworthIn(Input, kw_only=True, forbid_unknown_fields=True):
    muscle_group: Literal[MUSCLE_GROUPS]  # type: ignore[valid-type]
    side: Literal["left", "right"]
    grade: Literal["0", "1", "1+", "2", "3", "4"]
    assessed_on: dt.date
    note: Annotated[str, Meta(max_length=2000)] | None = None


class AshworthOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    muscle_group: str
    side: str
    grade: str
    scale_variant: str
    assessed_on: dt.date
    note: str | None
    clinician_id: uuid.UUID | None
