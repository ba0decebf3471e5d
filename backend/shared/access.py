"""The one place that decides whether a clinician may see a patient's diary.

A clinician sees a patient only through an active care link with the needed scope. Anything else (no link, a
pending or revoked one, a missing scope, a patient who does not exist) answers 404, exactly like a missing patient,
so that a clinician cannot even learn who uses the service. Every decision is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime
from backend.shared.audit import audit_event
from backend.shared.principal import Principal
from backend.shared.problems import not_found

SCOPES = ("view", "annotate", "notify", "export")


class CareLink(Base):
    """A patient's consent for one clinician to see their diary, with the scopes granted."""

    __tablename__ = "care_links"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinician_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # pending, active, revoked
    scopes: Mapped[list[str]] = mapped_column(JSON)
    consent_version: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_care_links_clinician_id_status", "clinician_id", "status"),)


async def require_link(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, scope: str, action: str, *, address: str
) -> CareLink:
    link = (
        await db.execute(
            select(CareLink).where(
                CareLink.patient_id == patient_id,
                CareLink.clinician_id == clinician.user_id,
                CareLink.status == "active",
            )
        )
    ).scalar_one_or_none()
    allowed = link is not None and scope in link.scopes
    db.add(
        audit_event(
            clinician,
            action,
            patient_id=patient_id if allowed else None,
            entity=None if allowed else f"patient:{patient_id}",
            outcome="success" if allowed else "denied",
            address=address,
        )
    )
    await db.commit()
    if not allowed:
        raise not_found("patient")
    assert link is not None
    return link
