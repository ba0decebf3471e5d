"""Flags raised by the follow-up rules, their history, and per-patient threshold overrides."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime

LIVE_STATUSES = ("open", "acknowledged", "snoozed")


class Flag(Base):
    """One pattern that calls for follow-up. While it is live (open, acknowledged or snoozed) the same rule updates
    it instead of raising a second one; resolved flags stay as history."""

    __tablename__ = "flags"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[str] = mapped_column(String(8))
    rule_version: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    evidence_episodes: Mapped[list[str]] = mapped_column(JSON)
    evidence_days: Mapped[list[str]] = mapped_column(JSON)
    patient_message: Mapped[str] = mapped_column(Text)
    clinician_message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    resolution_note: Mapped[str | None] = mapped_column(Text, default=None)
    patient_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    # What the rule looks for in the current evidence (rules/base.py Finding.signs), what the clinician's last
    # acknowledge, snooze or resolve covered, and what the patient's "I've read this" covered: a judgment stands
    # for the signs it saw, and only new signs raise the rule again (CLINICAL.md (a), note 5).
    signs: Mapped[list[str]] = mapped_column(JSON, default=list)
    judged_signs: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    judged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    read_signs: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    previous_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)  # the resolved flag this one follows

    __table_args__ = (
        # At most one live flag per rule and patient, even with two processes evaluating at once.
        Index(
            "uq_flags_one_live_per_rule",
            "patient_id",
            "rule_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_flags_patient_id_status", "patient_id", "status"),
    )


class FlagEvent(Base):
    """The history of a flag: raised, updated, acknowledged, snoozed, resolved (by whom, with which note)."""

    __tablename__ = "flag_events"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    flag_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (Index("ix_flag_events_patient_id_flag_id", "patient_id", "flag_id"),)


class ThresholdOverride(Base):
    """A clinician's thresholds for one rule and one patient, replacing the defaults key by key."""

    __tablename__ = "threshold_overrides"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON)
    set_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RuleFailure(Base):
    """A rule that could not be checked for a patient at its last evaluation (an error inside the rule). The other
    rules still ran; the clinician is told which rule could not be checked, and /readyz counts them for operators.
    The row goes as soon as the rule runs again."""

    __tablename__ = "rule_failures"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    error: Mapped[str] = mapped_column(String(80))
    first_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=1)
