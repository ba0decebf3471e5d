"""Reminders and what delivers them: follow-up appointments, the durable queue, push subscriptions, the calendar feed.

Every table that belongs to a patient keys on the patient id first (see diary/models.py), and goes with the account:
erasing a patient deletes their reminders, subscriptions and feed token by the foreign keys' ON DELETE CASCADE.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, Time, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


def _patient_fk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Appointment(Base):
    """A follow-up a clinician scheduled; it becomes reminders and a calendar event."""

    __tablename__ = "appointments"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinician_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer, default=30)
    place: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_appointments_patient_id_starts_at", "patient_id", "starts_at"),)


class ReminderPreferences(Base):
    """When the patient wants to hear from us. No row: the defaults (no daily nudge, medicine times on, no quiet hours)."""

    __tablename__ = "reminder_preferences"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    daily_log_at: Mapped[dt.time | None] = mapped_column(Time, default=None)
    medicines: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[dt.time | None] = mapped_column(Time, default=None)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time, default=None)
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Reminder(Base):
    """One reminder due at one moment: the queue the dispatchers claim from, and the patient's inbox.

    ``key`` says where it came from (``appointment:<id>:day-before``, ``daily:2026-11-29``...): planning is idempotent,
    a reminder is inserted once per key. Status: ``pending`` (waiting for ``next_attempt_at``), ``claimed`` (a
    dispatcher holds it until ``claimed_until``; past that, any dispatcher may take it again), ``sent``, ``skipped``
    (no longer needed when due, e.g. the patient already logged today), ``failed`` (gave up after retries),
    ``cancelled``. Acknowledged and snoozed are the patient's marks on a sent reminder.
    """

    __tablename__ = "reminders"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)  # the patient's own "later"
    link: Mapped[str | None] = mapped_column(String(200), default=None)
    subject_id: Mapped[str | None] = mapped_column(String(64), default=None)  # the appointment, regimen or flag
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("patient_id", "key", name="uq_reminders_patient_id_key"),
        Index("ix_reminders_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_reminders_patient_id_due_at", "patient_id", "due_at"),
    )


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    endpoint: Mapped[str] = mapped_column(String(2000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("patient_id", "endpoint", name="uq_push_subscriptions_patient_id_endpoint"),)


class DeliveryAttempt(Base):
    """Every try on every channel: when, how it went, the channel's status code. Never the reminder's words."""

    __tablename__ = "delivery_attempts"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reminder_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200), default=None)
    dispatcher: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (Index("ix_delivery_attempts_patient_id_reminder_id", "patient_id", "reminder_id"),)


class CalendarFeed(Base):
    """The private iCalendar address of a patient: only the SHA-256 of its token is kept; a new one revokes the old."""

    __tablename__ = "calendar_feeds"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ServerKey(Base):
    """Keys the whole service shares, made on first start: the VAPID key pair that signs Web Push requests."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    private_der: Mapped[bytes] = mapped_column(LargeBinary)
    public: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
