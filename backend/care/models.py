"""The care area's records: sharing codes and offers, Modified Ashworth grades, review marks (the care link itself is
backend/shared/access.py, the record the access decision reads)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class CareInvitation(Base):
    """A one-time code a patient gives a clinician to share their diary (valid 7 days, used once)."""

    __tablename__ = "care_invitations"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)


class AshworthGrade(Base):
    """A clinician's Modified Ashworth Scale grade for one muscle group (CLINICAL.md 1.4). The grade is kept as the
    original string ("1+" included); averaging MAS grades is not meaningful, so no number is stored in its place."""

    __tablename__ = "ashworth_grades"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinician_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    muscle_group: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))
    grade: Mapped[str] = mapped_column(String(2))
    scale_variant: Mapped[str] = mapped_column(String(16))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_ashworth_grades_patient_id_assessed_on", "patient_id", "assessed_on"),)


class ReviewMark(Base):
    """A clinician marked the patient's diary as reviewed; the mark can be undone by the same clinician."""

    __tablename__ = "review_marks"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinician_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_review_marks_patient_id_reviewed_at", "patient_id", "reviewed_at"),)


class CareOffer(Base):
    """A one-time code a clinician gives a patient; the patient who accepts it chooses what to share."""

    __tablename__ = "care_offers"

    clinician_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
