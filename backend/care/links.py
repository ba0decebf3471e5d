"""Sharing a diary (anchor: Tidepool's sharing): the patient makes a one-time code, the clinician redeems it, and the
patient can stop sharing at any moment; access ends on the clinician's next request (care/access.py checks every one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import Provide
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import CareInvitation, CareOffer
from backend.config import Settings
from backend.db import utcnow
from backend.shared import limits
from backend.shared.access import SCOPES, CareLink
from backend.shared.audit import audit_event
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal, client_address
from backend.shared.problems import FieldError, Problem, invalid, not_found
from backend.shared.schemas import Input

CONSENT_VERSION = "1"
INVITATION_LIFETIME = dt.timedelta(days=7)
# No 0/O, 1/I/L or U: codes are read aloud and typed by people with stiff fingers.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
REDEEM_WINDOW = dt.timedelta(hours=1)
Scope = Literal["view", "annotate", "notify", "export"]
NO_STORE = {"Cache-Control": "no-store"}


class InvitationIn(Input, kw_only=True, forbid_unknown_fields=True):
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=4)] = msgspec.field(
        default_factory=lambda: ["view", "annotate", "notify", "export"]
    )


class InvitationOut(msgspec.Struct, kw_only=True):
    code: str
    expires_at: dt.datetime
    scopes: list[str]
    qr_svg: str  # the code as a QR code, to show on the patient's screen


class OfferOut(msgspec.Struct, kw_only=True):
    code: str
    expires_at: dt.datetime
    qr_svg: str


class AcceptIn(Input, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=40)]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=4)]


class RedeemIn(Input, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=40)]


class LinkOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: str
    scopes: list[str]
    patient_id: uuid.UUID
    patient_name: str | None
    clinician_id: uuid.UUID
    clinician_name: str | None
    consent_version: str
    consented_at: dt.datetime | None
    revoked_at: dt.datetime | None


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def qr_svg(code: str) -> str:
    import io

    import segno

    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=6, xmldecl=False, title=f"Sharing code {code}")
    return out.getvalue().decode()


def code_hash(settings: Settings, code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(settings.secret_key.encode(), b"invite:" + normal.encode(), hashlib.sha256).hexdigest()


async def grant(db: AsyncSession, patient_id: uuid.UUID, clinician_id: uuid.UUID, scopes: list[str],
                now: dt.datetime) -> CareLink:  # fmt: skip
    """Records the patient's consent: a new active link, or new scopes on the one they already have."""
    link = (await db.execute(select(CareLink).where(CareLink.patient_id == patient_id,
                                                    CareLink.clinician_id == clinician_id,
                                                    CareLink.status == "active"))).scalar_one_or_none()  # fmt: skip
    if link is None:
        link = CareLink(patient_id=patient_id, clinician_id=clinician_id, status="active", scopes=scopes,
                        consent_version=CONSENT_VERSION, consented_at=now, created_at=now)  # fmt: skip
        db.add(link)
    else:
        link.scopes, link.consent_version, link.consented_at = scopes, CONSENT_VERSION, now
    return link


async def _link_out(db: AsyncSession, link: CareLink) -> LinkOut:
    names = {u.id: u.display_name for u in (await db.execute(
        select(User).where(User.id.in_([link.patient_id, link.clinician_id])))).scalars()}  # fmt: skip
    return LinkOut(id=link.id, status=link.status, scopes=list(link.scopes), patient_id=link.patient_id,
                   patient_name=names.get(link.patient_id), clinician_id=link.clinician_id,
                   clinician_name=names.get(link.clinician_id), consent_version=link.consent_version,
                   consented_at=link.consented_at, revoked_at=link.revoked_at)  # fmt: skip


@post("/api/v1/care-links/invitations", tags=["sharing"], status_code=201,
      summary="Make a one-time code to share my diary with a clinician", dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def invite(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: InvitationIn
) -> Response[InvitationOut]:
    if len(set(data.scopes)) != len(data.scopes):
        raise invalid([FieldError("scopes", "lists a scope twice")])
    now = utcnow()
    code = new_code()
    invitation = CareInvitation(patient_id=patient.user_id, code_hash=code_hash(settings, code), scopes=list(data.scopes),
                                created_at=now, expires_at=now + INVITATION_LIFETIME)  # fmt: skip
    db.add(invitation)
    db.add(audit_event(patient, "care-link.invite", patient_id=patient.user_id, address=client_address(request)))
    await db.commit()
    out = InvitationOut(code=code, expires_at=invitation.expires_at, scopes=list(data.scopes), qr_svg=qr_svg(code))
    return Response(out, status_code=201, headers=NO_STORE)


@post("/api/v1/care-links/redeem", tags=["sharing"], status_code=201,
      summary="Use a patient's code to see their diary", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def redeem(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, data: RedeemIn
) -> Response[LinkOut]:
    # Codes are guessable only by trying: attempts are throttled per clinician and per address, in every process.
    await limits.hit(db, f"redeem:{clinician.user_id}", settings.limit_redeem_per_hour, REDEEM_WINDOW)
    await limits.hit(db, f"redeem:{client_address(request)}", settings.limit_redeem_per_hour * 2, REDEEM_WINDOW)
    now = utcnow()
    invitation = (
        await db.execute(select(CareInvitation).where(CareInvitation.code_hash == code_hash(settings, data.code)))
    ).scalar_one_or_none()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        db.add(audit_event(clinician, "care-link.redeem", patient_id=None, outcome="failure",
                           address=client_address(request)))  # fmt: skip
        await db.commit()
        raise Problem(404, "This code is not valid: it may be mistyped, used already, or older than 7 days. "
                           "Ask the patient for a new one.", code="invalid-code")  # fmt: skip
    invitation.used_at, invitation.used_by = now, clinician.user_id
    link = await grant(db, invitation.patient_id, clinician.user_id, list(invitation.scopes), now)
    db.add(
        audit_event(clinician, "care-link.redeem", patient_id=invitation.patient_id, address=client_address(request))
    )
    try:
        await db.commit()
    except IntegrityError as exc:  # the same code redeemed twice at once
        await db.rollback()
        raise Problem(409, "This code was just used. Ask the patient for a new one.", code="code-used") from exc
    return Response(await _link_out(db, link), status_code=201, headers=NO_STORE)


@post("/api/v1/care-links/offers", tags=["sharing"], status_code=201,
      summary="Make a one-time code a patient can accept to share with me", dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def offer(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal
) -> Response[OfferOut]:
    now = utcnow()
    code = new_code()
    row = CareOffer(clinician_id=clinician.user_id, code_hash=code_hash(settings, code), created_at=now,
                    expires_at=now + INVITATION_LIFETIME)  # fmt: skip
    db.add(row)
    db.add(audit_event(clinician, "care-link.offer", patient_id=None, address=client_address(request)))
    await db.commit()
    return Response(
        OfferOut(code=code, expires_at=row.expires_at, qr_svg=qr_svg(code)), status_code=201, headers=NO_STORE
    )


@post("/api/v1/care-links/accept", tags=["sharing"], status_code=201,
      summary="Accept a clinician's code and choose what to share", dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def accept(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: AcceptIn
) -> Response[LinkOut]:
    await limits.hit(db, f"accept:{patient.user_id}", settings.limit_redeem_per_hour, REDEEM_WINDOW)
    if len(set(data.scopes)) != len(data.scopes):
        raise invalid([FieldError("scopes", "lists a scope twice")])
    now = utcnow()
    row = (
        await db.execute(select(CareOffer).where(CareOffer.code_hash == code_hash(settings, data.code)))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Problem(404, "This code is not valid: it may be mistyped, used already, or older than 7 days. "
                           "Ask your clinician for a new one.", code="invalid-code")  # fmt: skip
    row.used_at, row.used_by = now, patient.user_id
    link = await grant(db, patient.user_id, row.clinician_id, list(data.scopes), now)
    db.add(audit_event(patient, "care-link.accept", patient_id=patient.user_id, entity=f"user:{row.clinician_id}",
                       address=client_address(request)))  # fmt: skip
    await db.commit()
    return Response(await _link_out(db, link), status_code=201, headers=NO_STORE)


@get("/api/v1/care-links", tags=["sharing"], summary="Who I share with (patients) or who shares with me (clinicians)")
async def list_links(db: AsyncSession, principal: Principal) -> Response[list[LinkOut]]:
    column = CareLink.patient_id if principal.is_patient else CareLink.clinician_id
    links = (
        await db.execute(select(CareLink).where(column == principal.user_id).order_by(CareLink.created_at))
    ).scalars()
    return Response([await _link_out(db, link) for link in links], headers=NO_STORE)


@delete("/api/v1/care-links/{link_id:uuid}", tags=["sharing"], status_code=204,
        summary="Stop sharing my diary with this clinician", dependencies={"patient": Provide(provide_patient)})  # fmt: skip
async def revoke(
    request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, link_id: uuid.UUID
) -> Response[None]:
    link = await db.get(CareLink, (patient.user_id, link_id))
    if link is None:
        raise not_found("care link")
    if link.status != "revoked":
        link.status, link.revoked_at = "revoked", utcnow()
        db.add(audit_event(patient, "care-link.revoke", patient_id=patient.user_id, entity=f"user:{link.clinician_id}",
                           address=client_address(request)))  # fmt: skip
        await db.commit()
    return Response(None, status_code=204, headers=NO_STORE)


assert set(SCOPES) == {"view", "annotate", "notify", "export"}
LINK_ROUTES: list[Any] = [invite, redeem, offer, accept, list_links, revoke]
