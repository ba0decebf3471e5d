"""Audit events: who did what to whose diary, from where, and how it ended. Never the diary content itself."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend.accounts.sessions import Principal
from backend.care.models import AuditEvent
from backend.db import utcnow


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
