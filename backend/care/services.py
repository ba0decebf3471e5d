"""Sharing a diary (anchor: Tidepool's sharing): the patient makes a one-time code, the clinician redeems it (or the
clinician makes one and the patient accepts it, choosing the scopes), and the patient can stop sharing at any moment;
access ends on the clinician's next request (shared/access.py decides every one). And who looked: the access history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import secrets
import uuid

import segno
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import CareInvitation, CareOffer
from backend.care.schemas import AccessOut, InvitationOut, LinkOut, OfferOut
from backend.config import Settings
from backend.db import utcnow
from backend.shared import limits
from backend.shared.access import CareLink
from backend.shared.audit import AuditEvent, audit_event
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid, not_found

CONSENT_VERSION = "1"
INVITATION_LIFETIME = dt.timedelta(days=7)
# No 0/O, 1/I/L or U: codes are read aloud and typed by people with stiff fingers.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
REDEEM_WINDOW = dt.timedelta(hours=1)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def qr_svg(code: str) -> str:
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=6, xmldecl=False, title=f"Sharing code {code}")
    return out.getvalue().decode()


def code_hash(settings: Settings, code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(settings.secret_key.encode(), b"invite:" + normal.encode(), hashlib.sha256).hexdigest()


def _distinct(scopes: list[str]) -> None:
    if len(set(scopes)) != len(scopes):
        raise invalid([FieldError("scopes", "lists a scope twice")])


async def grant(
    db: AsyncSession, patient_id: uuid.UUID, clinician_id: uuid.UUID, scopes: list[str], now: dt.datetime
) -> CareLink:
    """Records the patient's consent: a new active link, or new scopes on the one they already have."""
    query = select(CareLink).where(
        CareLink.patient_id == patient_id, CareLink.clinician_id == clinician_id, CareLink.status == "active"
    )
    link = (await db.execute(query)).scalar_one_or_none()
    if link is None:
        link = CareLink(
            patient_id=patient_id,
            clinician_id=clinician_id,
            status="active",
            scopes=scopes,
            consent_version=CONSENT_VERSION,
            consented_at=now,
            created_at=now,
        )
        db.add(link)
    else:
        link.scopes, link.consent_version, link.consented_at = scopes, CONSENT_VERSION, now
    return link


async def link_out(db: AsyncSession, link: CareLink) -> LinkOut:
    users = await db.execute(select(User).where(User.id.in_([link.patient_id, link.clinician_id])))
    names = {u.id: u.display_name for u in users.scalars()}
    return LinkOut(
        id=link.id,
        status=link.status,
        scopes=list(link.scopes),
        patient_id=link.patient_id,
        patient_name=names.get(link.patient_id),
        clinician_id=link.clinician_id,
        clinician_name=names.get(link.clinician_id),
        consent_version=link.consent_version,
        consented_at=link.consented_at,
        revoked_at=link.revoked_at,
    )


async def invite(
    db: AsyncSession, settings: Settings, patient: Principal, scopes: list[str], *, address: str
) -> InvitationOut:
    """A one-time code (valid 7 days) for the patient to give a clinician, with the scopes it grants."""
    _distinct(scopes)
    now = utcnow()
    code = new_code()
    invitation = CareInvitation(
        patient_id=patient.user_id,
        code_hash=code_hash(settings, code),
        scopes=list(scopes),
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.add(invitation)
    db.add(audit_event(patient, "care-link.invite", patient_id=patient.user_id, address=address))
    await db.commit()
    return InvitationOut(code=code, expires_at=invitation.expires_at, scopes=list(scopes), qr_svg=qr_svg(code))


async def redeem(db: AsyncSession, settings: Settings, clinician: Principal, code: str, *, address: str) -> LinkOut:
    """A clinician uses a patient's code; the link is theirs with the scopes the patient chose."""
    # Codes are guessable only by trying: attempts are throttled per clinician and per address, in every process.
    await limits.hit(db, f"redeem:{clinician.user_id}", settings.limit_redeem_per_hour, REDEEM_WINDOW)
    await limits.hit(db, f"redeem:{address}", settings.limit_redeem_per_hour * 2, REDEEM_WINDOW)
    now = utcnow()
    query = select(CareInvitation).where(CareInvitation.code_hash == code_hash(settings, code))
    invitation = (await db.execute(query)).scalar_one_or_none()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        db.add(audit_event(clinician, "care-link.redeem", patient_id=None, outcome="failure", address=address))
        await db.commit()
        raise Problem(
            404,
            "This code is not valid: it may be mistyped, used already, or older than 7 days. "
            "Ask the patient for a new one.",
            code="invalid-code",
        )
    invitation.used_at, invitation.used_by = now, clinician.user_id
    link = await grant(db, invitation.patient_id, clinician.user_id, list(invitation.scopes), now)
    db.add(audit_event(clinician, "care-link.redeem", patient_id=invitation.patient_id, address=address))
    try:
        await db.commit()
    except IntegrityError as exc:  # the same code redeemed twice at once
        await db.rollback()
        raise Problem(409, "This code was just used. Ask the patient for a new one.", code="code-used") from exc
    return await link_out(db, link)


async def offer(db: AsyncSession, settings: Settings, clinician: Principal, *, address: str) -> OfferOut:
    """A clinician's one-time code for a patient to accept (the patient then chooses what to share)."""
    now = utcnow()
    code = new_code()
    row = CareOffer(
        clinician_id=clinician.user_id,
        code_hash=code_hash(settings, code),
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.add(row)
    db.add(audit_event(clinician, "care-link.offer", patient_id=None, address=address))
    await db.commit()
    return OfferOut(code=code, expires_at=row.expires_at, qr_svg=qr_svg(code))


async def accept(
    db: AsyncSession, settings: Settings, patient: Principal, code: str, scopes: list[str], *, address: str
) -> LinkOut:
    await limits.hit(db, f"accept:{patient.user_id}", settings.limit_redeem_per_hour, REDEEM_WINDOW)
    _distinct(scopes)
    now = utcnow()
    row = (
        await db.execute(select(CareOffer).where(CareOffer.code_hash == code_hash(settings, code)))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Problem(
            404,
            "This code is not valid: it may be mistyped, used already, or older than 7 days. "
            "Ask your clinician for a new one.",
            code="invalid-code",
        )
    row.used_at, row.used_by = now, patient.user_id
    link = await grant(db, patient.user_id, row.clinician_id, list(scopes), now)
    db.add(
        audit_event(
            patient, "care-link.accept", patient_id=patient.user_id, entity=f"user:{row.clinician_id}", address=address
        )
    )
    await db.commit()
    return await link_out(db, link)


async def links(db: AsyncSession, principal: Principal) -> list[LinkOut]:
    """Who a patient shares with, or who shares with a clinician."""
    column = CareLink.patient_id if principal.is_patient else CareLink.clinician_id
    found = (
        await db.execute(select(CareLink).where(column == principal.user_id).order_by(CareLink.created_at))
    ).scalars()
    return [await link_out(db, link) for link in found]


async def revoke(db: AsyncSession, patient: Principal, link_id: uuid.UUID, *, address: str) -> None:
    """Stop sharing: the clinician's next request finds no link."""
    link = await db.get(CareLink, (patient.user_id, link_id))
    if link is None:
        raise not_found("care link")
    if link.status != "revoked":
        link.status, link.revoked_at = "revoked", utcnow()
        entity = f"user:{link.clinician_id}"
        db.add(audit_event(patient, "care-link.revoke", patient_id=patient.user_id, entity=entity, address=address))
        await db.commit()


async def access_history(db: AsyncSession, patient_id: uuid.UUID, limit: int) -> list[AccessOut]:
    """Who looked at or changed the patient's diary (other than the patient), newest first."""
    events = (
        await db.execute(
            select(AuditEvent, User.display_name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.patient_id == patient_id, AuditEvent.actor_id != patient_id)
            .order_by(AuditEvent.at.desc())
            .limit(limit)
        )
    ).all()
    return [
        AccessOut(at=e.at, who=name or "a former account", role=e.actor_role, action=e.action, outcome=e.outcome)
        for e, name in events
    ]
