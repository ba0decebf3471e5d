"""Audit events: who did what to whose diary, from where, and how it ended. Never the diary content itself."""

from __future__ import annotations

import uuid

from backend.accounts.sessions import Principal
from backend.care.models import AuditEvent
from backend.db import utcnow


def audit_event(
    principal: Principal | None,
    action: str,
    *,
    patient_id: uuid.UUID | None,
    entity: str | None = None,
    outcome: str = "success",
    address: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        at=utcnow(),
        actor_id=principal.user_id if principal else None,
        actor_role=principal.role if principal else None,
        action=action,
        patient_id=patient_id,
        entity=entity,
        outcome=outcome,
        address=address,
    )
