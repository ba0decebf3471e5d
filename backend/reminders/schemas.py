"""What the reminders API takes and answers: the inbox, preferences, push subscriptions, the calendar address and
follow-up appointments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from backend.diary.schemas import ClockTime, DoseStatus
from backend.shared.schemas import Input

# No control characters: PostgreSQL refuses NUL in text, and none belongs in a name, a place or an address.
URL = r"^https?://[^\x00-\x20\x7f]+$"
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
KEY = r"^[A-Za-z0-9_=-]+$"


class ReminderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    due_at: dt.datetime
    status: str
    acknowledged: bool
    link: str | None
    # A medicine reminder is one dose of the plan: its regimen, its slot and the patient's answer, if any.
    regimen_id: uuid.UUID | None = None
    scheduled_for: str | None = None
    dose: str | None = None


class Inbox(msgspec.Struct, kw_only=True):
    due: list[ReminderOut]
    upcoming: list[ReminderOut]


class DoseAnswer(Input, kw_only=True, forbid_unknown_fields=True):
    """The answer to a medicine reminder: the dose taken, skipped, or later (remind me again in ``minutes``)."""

    status: DoseStatus
    minutes: Annotated[int, Meta(ge=5, le=24 * 60)] = 60


class ReminderSnoozeIn(Input, kw_only=True, forbid_unknown_fields=True):
    minutes: Annotated[int, Meta(ge=5, le=24 * 60)]


class PreferencesIn(Input, kw_only=True, forbid_unknown_fields=True):
    daily_log_at: ClockTime | None = None
    medicines: bool = True
    quiet_start: ClockTime | None = None
    quiet_end: ClockTime | None = None
    email: bool = False


class PreferencesOut(msgspec.Struct, kw_only=True):
    daily_log_at: str | None
    medicines: bool
    quiet_start: str | None
    quiet_end: str | None
    email: bool


class PushKeys(Input, kw_only=True, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(min_length=20, max_length=200, pattern=KEY)]
    auth: Annotated[str, Meta(min_length=8, max_length=100, pattern=KEY)]


class PushSubscriptionIn(Input, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=12, max_length=2000, pattern=URL)]
    keys: PushKeys
    expirationTime: int | float | None = None


class EndpointIn(Input, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=12, max_length=2000, pattern=URL)]


class AppointmentIn(Input, kw_only=True, forbid_unknown_fields=True):
    starts_at: Annotated[dt.datetime, Meta(tz=True)]
    minutes: Annotated[int, Meta(ge=5, le=480)] = 30
    place: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] | None = None
    note: Annotated[str, Meta(max_length=2000, pattern=TEXT)] | None = None


class AppointmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    starts_at: dt.datetime
    minutes: int
    place: str | None
    note: str | None
    cancelled: bool


class FeedOut(msgspec.Struct, kw_only=True):
    url: str
