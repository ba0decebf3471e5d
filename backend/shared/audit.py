"""Audit events: who did what to whose diary, from where, and how it ended. Never the diary content itself."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.shared.principal import Principal


class AuditEvent(Base):
    """One access to or change of health data. Never holds the diary content itself (HIPAA 164.312(b))."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    actor_role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    entity: Mapped[str | None] = mapped_column(String(80), default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (Index("ix_audit_events_patient_id_at", "patient_id", "at"),)


def audit_values(
    principal: Principal | None,
    action: str,
    *,
    patient_id: uuid.UUID | None,
    entity: str | None = None,
    outcome: str = "success",
    address: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The columns of one audit row (the grouped episode writer inserts many of these in one statement)."""
    return {
        "at": at or utcnow(),
        "actor_id": principal.user_id if principal else None,
        "actor_role": principal.role if principal else None,
        "action": action,
        "patient_id": patient_id,
        "entity": entity,
        "outcome": outcome,
        "address": address,
    }


def audit_event(principal: Principal | None, action: str, **fields: Any) -> AuditEvent:
    """One audit row to add to a session; ``fields`` are those of ``audit_values``."""
    return AuditEvent(**audit_values(principal, action, **fields))
