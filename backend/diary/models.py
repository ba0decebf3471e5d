"""The diary records (CLINICAL.md section (b)).

Every table that belongs to a patient has the patient id first in its primary key and indexes, so the tables can
later be distributed by patient (Citus requires the distribution column in every key).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


def _patient_fk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class PatientProfile(Base):
    __tablename__ = "patient_profiles"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    conditions: Mapped[list[str]] = mapped_column(JSON)
    sci_level: Mapped[str | None] = mapped_column(String(3), default=None)
    sci_complete: Mapped[bool | None] = mapped_column(Boolean, default=None)
    itb_pump: Mapped[bool] = mapped_column(Boolean, default=False)
    itb_refill_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    baseline_systolic: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    spasticity_helps_function: Mapped[bool | None] = mapped_column(Boolean, default=None)
    time_zone: Mapped[str] = mapped_column(String(64))
    sleep_start: Mapped[dt.time] = mapped_column(Time)
    sleep_end: Mapped[dt.time] = mapped_column(Time)
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Episode(Base):
    """One spasm, cramp or flare. The id comes from the phone, so an upload replayed after a lost answer is a no-op."""

    __tablename__ = "episodes"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    start_offset: Mapped[int] = mapped_column(SmallInteger)  # minutes east of UTC, as the phone showed it
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    end_offset: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    ongoing: Mapped[bool] = mapped_column(Boolean, default=False)
    intensity: Mapped[int] = mapped_column(SmallInteger)
    body_sites: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    woke_from_sleep: Mapped[bool | None] = mapped_column(Boolean, default=None)
    triggers: Mapped[list[str]] = mapped_column(JSON)
    own_triggers: Mapped[list[str]] = mapped_column(JSON)
    symptoms: Mapped[list[str]] = mapped_column(JSON)
    context: Mapped[list[str]] = mapped_column(JSON)
    treatments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    impacts: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reporter: Mapped[str] = mapped_column(String(8))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    entered_offset: Mapped[int] = mapped_column(SmallInteger)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_episodes_patient_id_started_at", "patient_id", "started_at"),
        Index("ix_episodes_patient_id_updated_at", "patient_id", "updated_at"),
    )


class CheckIn(Base):
    """The short daily check-in. An explicit "no episodes today" is what makes a zero count a true zero."""

    __tablename__ = "checkins"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    no_episodes: Mapped[bool] = mapped_column(Boolean)
    stiffness: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    sleep_disturbance: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    pain: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    meds_taken: Mapped[str | None] = mapped_column(String(24), default=None)
    symptoms: Mapped[list[str]] = mapped_column(JSON)
    systolic_bp: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    temperature_c: Mapped[float | None] = mapped_column(default=None)
    new_or_worse_symptoms: Mapped[bool | None] = mapped_column(Boolean, default=None)  # rule S4 (MS relapse)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))


class PennRating(Base):
    """The weekly Penn Spasm Frequency Scale self-rating (CLINICAL.md 1.1): recall is a typical hour of the week."""

    __tablename__ = "penn_ratings"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO week, e.g. 2026-W48
    frequency: Mapped[int] = mapped_column(SmallInteger)
    severity: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))


class Regimen(Base):
    """One part of the treatment plan, with the dates the report draws as start and stop markers."""

    __tablename__ = "regimens"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    dose: Mapped[str | None] = mapped_column(String(120), default=None)
    schedule: Mapped[str | None] = mapped_column(String(200), default=None)
    times: Mapped[list[str]] = mapped_column(JSON)
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    stopped_by_clinician: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )  # rule S5 (baclofen stopped)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_regimens_patient_id_start_date", "patient_id", "start_date"),)


class Dose(Base):
    """One scheduled dose of a regimen, as the patient answered its reminder: taken, skipped, or later (snoozed).

    A dose is the regimen's time of day on a local day (``day`` and ``time``, the wall clock of the plan, as the
    reminder's key names it); ``scheduled_at`` is that moment in UTC. One record per dose: the slot is unique, and the
    id the phone chose when it first answered stays the record's id, so an answer replayed from the outbox, the
    notification and the inbox all land on the same row. Adherence (rules R10 and S5, the report) reads these.
    """

    __tablename__ = "doses"

    patient_id: Mapped[uuid.UUID] = _patient_fk()
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, unique=True)
    regimen_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    day: Mapped[dt.date] = mapped_column(Date)
    time: Mapped[str] = mapped_column(String(5))
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        ForeignKeyConstraint(["patient_id", "regimen_id"], ["regimens.patient_id", "regimens.id"], ondelete="CASCADE"),
        UniqueConstraint("patient_id", "regimen_id", "day", "time", name="uq_doses_patient_id_regimen_id_day_time"),
        Index("ix_doses_patient_id_day", "patient_id", "day"),
    )
