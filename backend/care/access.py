"""The one place that decides whether a clinician may see a patient's diary.

A clinician sees a patient only through an active care link with the needed scope. Anything else (no link, a
pending or revoked one, a missing scope, a patient who does not exist) answers 404, exactly like a missing patient,
so that a clinician cannot even learn who uses the service. Every decision is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import Principal, client_address
from backend.care.audit import audit_event
from backend.care.models import CareLink
from backend.problems import not_found

SCOPES = ("view", "annotate", "notify", "export")


async def require_link(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, scope: str,
    action: str,
) -> CareLink:  # fmt: skip
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
    db.add(audit_event(clinician, action, patient_id=patient_id if allowed else None,
                       entity=None if allowed else f"patient:{patient_id}",
                       outcome="success" if allowed else "denied", address=client_address(request)))  # fmt: skip
    await db.commit()
    if not allowed:
        raise not_found("patient")
    assert link is not None
    return link
