"""The channels: Web Push (VAPID, RFC 8291 encryption by pywebpush), e-mail over SMTP, and the in-app inbox.

The inbox needs no sending: a reminder marked sent shows in the app. Push and e-mail are tried for every sent
reminder; a push service that answers 404 or 410 has forgotten the subscription, which is then removed. E-mail says
only that a reminder is waiting, never what it is about: mail is not end-to-end encrypted, push is.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.reminders import endpoints
from backend.reminders.models import PushSubscription, ServerKey
from backend.shared import mail

log = logging.getLogger("spasm.reminders")
VAPID = "vapid"


@dataclass(frozen=True)
class VapidKeys:
    private_der: bytes
    public: str  # the uncompressed P-256 point, base64url: the browser's applicationServerKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def vapid_keys(db: AsyncSession) -> VapidKeys:
    """The service's VAPID key pair, made on first use and kept in the database so that every process signs alike."""
    row = await db.get(ServerKey, VAPID)
    if row is None:
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        db.add(ServerKey(name=VAPID, private_der=der, public=_b64url(point), created_at=dt.datetime.now(dt.UTC)))
        try:
            await db.commit()
        except IntegrityError:  # another process made it at the same moment: use theirs
            await db.rollback()
        row = await db.get(ServerKey, VAPID)
        assert row is not None
    return VapidKeys(private_der=row.private_der, public=row.public)


@dataclass(frozen=True)
class Outcome:
    channel: str
    ok: bool
    detail: str
    gone: bool = False


def _push_one(
    subscription: PushSubscription, payload: dict[str, str], keys: VapidKeys, subject: str, pinned: endpoints.PushTarget
) -> Outcome:
    from pywebpush import WebPushException, webpush

    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    try:
        with endpoints.pinned_session(pinned) as session:
            answer = webpush(
                info,
                json.dumps(payload),
                vapid_private_key=_b64url(keys.private_der),
                vapid_claims={"sub": subject},
                ttl=24 * 3600,
                timeout=10,
                requests_session=session,
            )
        return Outcome("push", True, str(getattr(answer, "status_code", "")))
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        return Outcome("push", False, f"status {status}" if status else type(exc).__name__, gone=status in (404, 410))
    except Exception as exc:  # the network: try again later
        return Outcome("push", False, type(exc).__name__)


async def _push_checked(
    subscription: PushSubscription,
    payload: dict[str, str],
    keys: VapidKeys,
    settings: Settings,
    resolver: endpoints.Resolver,
) -> Outcome:
    """Resolves and checks the endpoint again right before sending (endpoints.py says why), then sends to the address
    just checked. An endpoint the rules no longer allow is dropped, like one the push service forgot; one that
    resolves to a private address now is tried again later, as after a network failure."""
    hosts = endpoints.allowed_hosts(settings.push_allowed_hosts)
    try:
        pinned = await endpoints.target(
            subscription.endpoint, production=settings.production, hosts=hosts, resolver=resolver
        )
    except endpoints.Refused as refused:
        gone = settings.production and not endpoints.allowed(subscription.endpoint, hosts)
        return Outcome("push", False, f"refused: {refused}", gone=gone)
    return await asyncio.to_thread(_push_one, subscription, payload, keys, settings.vapid_subject, pinned)


async def push(
    db: AsyncSession,
    settings: Settings,
    patient_id: uuid.UUID,
    payload: dict[str, str],
    resolver: endpoints.Resolver = endpoints.system_resolver,
) -> list[Outcome]:
    query = select(PushSubscription).where(PushSubscription.patient_id == patient_id)
    subscriptions = list((await db.execute(query)).scalars())
    if not subscriptions:
        return []
    keys = await vapid_keys(db)
    outcomes = await asyncio.gather(*(_push_checked(s, payload, keys, settings, resolver) for s in subscriptions))
    for subscription, outcome in zip(subscriptions, outcomes, strict=True):
        if outcome.gone:
            await db.execute(
                delete(PushSubscription).where(
                    PushSubscription.patient_id == patient_id, PushSubscription.id == subscription.id
                )
            )
    return list(outcomes)


def _mail(settings: Settings, to: str, subject: str, text: str) -> Outcome:
    failure = mail.send(settings, to, subject, text)
    return Outcome("email", failure is None, failure or "accepted")


async def email(settings: Settings, to: str, title: str, language: str) -> Outcome | None:
    if not settings.smtp_host:
        return None
    from backend.shared.i18n import translate

    subject = translate(language, "A reminder from your spasm diary")
    text = translate(language, "You have a reminder waiting: %(title)s. Open the app to see it.") % {"title": title}
    text += f"\n\n{settings.base_url}/reminders\n"
    return await asyncio.to_thread(_mail, settings, to, subject, text)
