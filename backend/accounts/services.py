"""Accounts: registering, signing in (the password, then a clinician's second step) and disabling an account; changing
the password or two-step sign-in is in credentials.py. The JSON API (api.py) and the pages (pages.py) both call
these, and nothing here sees a request: the caller passes the address and the cookies that matter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import throttle, two_step
from backend.accounts.models import PasswordResetToken, User
from backend.accounts.passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from backend.accounts.schemas import RegisterIn
from backend.accounts.sessions import end_all_sessions, start_session
from backend.config import Settings
from backend.db import utcnow
from backend.diary.models import PatientProfile
from backend.shared import limits
from backend.shared.audit import audit_event
from backend.shared.checks import known_time_zone, text_problem
from backend.shared.i18n import translate
from backend.shared.limits import RateCounter
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid

BAD_CREDENTIALS = "That e-mail and password do not match an account."


@dataclass(frozen=True)
class Mail:
    """A message to send after the answer (backend/mail.py)."""

    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class SignedIn:
    """The end of a successful step: either a session (``session``), or a half-done sign-in that waits for the
    second step (``challenge``). ``device`` is a new remembered-device token to set as a cookie."""

    user: User
    session: str | None = None
    challenge: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Registration:
    """What registering answers. For an address that already has an account the answer looks the same (a made-up
    id and a session token that opens nothing), and the owner is told by e-mail instead: the answer does not say
    whether an account exists."""

    user_id: uuid.UUID
    email: str
    display_name: str
    role: str
    session: str
    mail: Mail | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def language_of(profile: PatientProfile | None) -> str:
    return profile.language if profile else "en"


async def open_session(db: AsyncSession, settings: Settings, user: User, *, address: str, replacing: str | None) -> str:
    token = await start_session(db, settings, user, replacing=replacing)
    db.add(audit_event(None, "auth.sign-in", patient_id=None, entity=f"user:{user.id}", address=address))
    return token


# ---- registering ------------------------------------------------------------------------------------------------


def _registration_errors(data: RegisterIn) -> list[FieldError]:
    errors: list[FieldError] = []
    problem = password_problem(data.password, email=normalise_email(data.email))
    if problem:
        errors.append(FieldError("password", problem))
    for name, value in (("email", data.email), ("display_name", data.display_name)):
        if reason := text_problem(value, one_line=True):
            errors.append(FieldError(name, reason))
    if not data.display_name.strip():
        errors.append(FieldError("display_name", "is empty"))
    if not known_time_zone(data.time_zone):
        errors.append(FieldError("time_zone", "is not a known time zone name such as Europe/London"))
    return errors


async def register(
    db: AsyncSession, settings: Settings, data: RegisterIn, *, address: str, replacing: str | None
) -> Registration:
    """Creates the account and signs it in; for a taken address, the same answer and a word to its owner."""
    await limits.registration_attempt(db, settings, address)
    if errors := _registration_errors(data):
        raise invalid(errors)
    email, now = normalise_email(data.email), utcnow()
    password_hash = await asyncio.to_thread(hash_password, data.password)  # the same work whether taken or not
    user = User(
        email=email, password_hash=password_hash, role=data.role, display_name=data.display_name.strip(), created_at=now
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        return await _already_registered(db, settings, data)
    if data.role == "patient":
        db.add(
            PatientProfile(
                patient_id=user.id,
                conditions=list(dict.fromkeys(data.conditions)),
                time_zone=data.time_zone,
                sleep_start=dt.time(23, 0),
                sleep_end=dt.time(7, 0),
                language=data.language,
                version=1,
                updated_at=now,
            )
        )
    session = await open_session(db, settings, user, address=address, replacing=replacing)
    await db.commit()
    return Registration(user.id, user.email, user.display_name, user.role, session)


async def _already_registered(db: AsyncSession, settings: Settings, data: RegisterIn) -> Registration:
    owner = (await db.execute(select(User).where(User.email == normalise_email(data.email)))).scalar_one()
    language = language_of(await db.get(PatientProfile, owner.id))
    text = translate(
        language,
        "Someone tried to create a new account in the spasm diary with this e-mail address, which "
        "already has one. If it was you, sign in instead, or set a new password if you have "
        "forgotten it: %(link)s\n\nIf it was not you, ignore this message: nothing changed in your "
        "account.",
    ) % {"link": f"{settings.base_url}/forgot-password"}
    mail = Mail(owner.email, translate(language, "Someone tried to register with your e-mail address"), text)
    decoy = secrets.token_urlsafe(32)  # a session token like any other, stored nowhere
    return Registration(uuid.uuid4(), normalise_email(data.email), data.display_name.strip(), data.role, decoy, mail)


# ---- signing in -------------------------------------------------------------------------------------------------


async def authenticate(db: AsyncSession, email: str, password: str) -> User | None:
    user = (await db.execute(select(User).where(func.lower(User.email) == normalise_email(email)))).scalar_one_or_none()
    if user is None:
        # The same work either way, so that timing does not tell who has an account.
        await asyncio.to_thread(verify_password, DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password) or user.disabled_at is not None:
        return None
    return user


def email_problem(email: str) -> None:
    if reason := text_problem(email, one_line=True):
        raise invalid([FieldError("email", reason)])


async def sign_in(
    db: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
    replacing: str | None,
    device: str | None,
) -> SignedIn:
    """The password step. A wrong one counts against this account at this address (a growing delay, throttle.py);
    a clinician with two-step sign-in then gets a challenge, unless this browser is remembered."""
    email_problem(email)
    await limits.sign_in_attempt(db, settings, address)
    pair = throttle.pair_key(email, address)
    await throttle.check(db, pair)
    user = await authenticate(db, email, password) if email and password else None
    if user is None:
        await throttle.failed(db, pair, free=settings.sign_in_free_failures)
        db.add(audit_event(None, "auth.sign-in", patient_id=None, outcome="failure", address=address))
        await db.commit()
        raise Problem(401, BAD_CREDENTIALS, code="bad-credentials")
    await throttle.succeeded(db, pair)
    if await two_step.is_on(db, user.id) and not await two_step.remembered(db, user.id, device):
        challenge = await two_step.start_challenge(db, user.id)
        await db.commit()
        return SignedIn(user, challenge=challenge)
    session = await open_session(db, settings, user, address=address, replacing=replacing)
    await db.commit()
    return SignedIn(user, session=session)


async def second_step(
    db: AsyncSession,
    settings: Settings,
    *,
    challenge: str | None,
    code: str,
    remember: bool,
    address: str,
    replacing: str | None,
) -> SignedIn:
    """The code step of a half-done sign-in: a code from the authenticator app or a recovery code. Wrong codes count
    per account (a growing delay) and end the half-done sign-in after a few."""
    pending = await two_step.challenge(db, challenge)
    if pending is None or challenge is None:
        raise Problem(401, "Please sign in again with your e-mail and password.", code="sign-in-again")
    user = await db.get(User, pending.user_id)
    if user is None or user.disabled_at is not None:
        raise Problem(401, "Please sign in again with your e-mail and password.", code="sign-in-again")
    key = throttle.code_key(user.id)
    await throttle.check(db, key)
    if not await two_step.verify(db, settings, user.id, code):
        pending.attempts += 1
        await throttle.failed(db, key)
        db.add(
            audit_event(
                None, "auth.second-step", patient_id=None, entity=f"user:{user.id}", outcome="failure", address=address
            )
        )
        await db.commit()
        raise Problem(401, "That code is not right. Use the newest code from your app.", code="bad-code")
    await throttle.succeeded(db, key)
    await two_step.end_challenge(db, challenge)
    device = await two_step.remember_device(db, user.id) if remember else None
    session = await open_session(db, settings, user, address=address, replacing=replacing)
    await db.commit()
    return SignedIn(user, session=session, device=device)


async def end_everything(db: AsyncSession, user_id: uuid.UUID) -> None:
    """Every way back into the account: sessions, half-done sign-ins, remembered browsers, reset links."""
    await end_all_sessions(db, user_id)
    await two_step.end_challenges(db, user_id)
    await two_step.forget_devices(db, user_id)
    await db.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user_id))


# ---- disabling --------------------------------------------------------------------------------------------------


async def set_disabled(db: AsyncSession, email: str, disabled: bool, *, actor: str = "operator") -> User | None:
    """Disables (or enables again) an account; disabling ends every way back in at once."""
    user = (await db.execute(select(User).where(User.email == normalise_email(email)))).scalar_one_or_none()
    if user is None:
        return None
    user.disabled_at = utcnow() if disabled else None
    if disabled:
        await end_everything(db, user.id)
    action = "account.disable" if disabled else "account.enable"
    db.add(audit_event(None, action, patient_id=None, entity=f"user:{user.id}", address=actor))
    await db.commit()
    return user


async def erase(db: AsyncSession, principal: Principal, password: str, confirm: str, *, address: str) -> None:
    """Erases the account and everything in it, in one transaction (GDPR Art. 17): the person's row goes and the
    foreign keys take every row that belongs to them (diary, flags, links, sessions). The audit log keeps its rows,
    which hold ids, actions and times but never diary content, because a record of who accessed health data is
    itself a legal obligation (GDPR Art. 17(3)(b))."""
    if confirm.strip().lower() != "erase my account":
        raise Problem(422, 'Type "erase my account" to confirm.', code="confirmation-needed")
    user = await authenticate(db, principal.email, password)
    if user is None:
        raise Problem(403, "That password is not right. Nothing was erased.", code="bad-password")
    await db.execute(delete(RateCounter).where(RateCounter.key == f"reset-mail:{principal.user_id}"))
    await db.execute(delete(User).where(User.id == principal.user_id))
    db.add(
        audit_event(
            None,
            "account.erase",
            patient_id=principal.user_id if principal.is_patient else None,
            entity=f"user:{principal.user_id}",
            address=address,
        )
    )
    await db.commit()
