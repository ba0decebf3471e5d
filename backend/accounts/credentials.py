"""Changing how one signs in: the password (changed with the current one, or reset with a link by e-mail) and a
clinician's two-step sign-in (turned on with a first code, new recovery codes, off where it is optional). Each change
asks for proof first and ends what the old credentials opened. Pages and the JSON API both call these.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import throttle, two_step
from backend.accounts.models import PasswordResetToken, User
from backend.accounts.passwords import hash_password, password_problem, verify_password
from backend.accounts.services import (
    Mail,
    SignedIn,
    email_problem,
    end_everything,
    language_of,
    normalise_email,
    open_session,
)
from backend.config import Settings
from backend.db import utcnow
from backend.diary.models import PatientProfile
from backend.shared import limits
from backend.shared.audit import audit_event
from backend.shared.i18n import translate
from backend.shared.problems import FieldError, Problem, invalid

RESET_LIFETIME = dt.timedelta(minutes=30)
RESET_WINDOW = dt.timedelta(hours=1)
RESET_MAILS_PER_HOUR = 3  # per account: a stranger cannot fill someone's mailbox with links


# ---- the password --------------------------------------------------------------------------------------------------


async def _set_password(db: AsyncSession, user: User, password: str, field: str) -> None:
    if problem := password_problem(password, email=user.email):
        raise invalid([FieldError(field, problem)])
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await end_everything(db, user.id)


async def change_password(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID, *, current: str, new: str, address: str
) -> str:
    """A new password for a signed-in person who knows the current one; every other session ends, and this browser
    gets a fresh session (the answer: its token)."""
    user = await db.get(User, user_id)
    assert user is not None
    pair = throttle.pair_key(user.email, address)
    await throttle.check(db, pair)
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        await throttle.failed(db, pair, free=settings.sign_in_free_failures)
        await db.commit()
        raise Problem(
            403,
            "Your current password is not right. Nothing was changed.",
            code="bad-password",
            errors=[FieldError("current_password", "is not your current password")],
        )
    await _set_password(db, user, new, "new_password")
    db.add(audit_event(None, "auth.password-change", patient_id=None, entity=f"user:{user.id}", address=address))
    session = await open_session(db, settings, user, address=address, replacing=None)
    await db.commit()
    return session


def _reset_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_reset(db: AsyncSession, settings: Settings, email: str, *, address: str) -> Mail | None:
    """A reset link for the account with this address, if there is one (the caller answers the same either way and
    sends the mail after the answer). A new link ends the earlier ones."""
    email_problem(email)
    await limits.hit(db, f"reset:{address}", settings.limit_register_per_address, RESET_WINDOW)
    user = (await db.execute(select(User).where(User.email == normalise_email(email)))).scalar_one_or_none()
    if user is None or user.disabled_at is not None:
        return None
    mails = f"reset-mail:{user.id}"
    used = await db.run_sync(limits.current, [mails], RESET_WINDOW, utcnow())
    if used.get(mails, 0) >= RESET_MAILS_PER_HOUR:
        return None  # quietly: the owner already has links in their mailbox
    await db.run_sync(limits.add, {mails: 1}, RESET_WINDOW, utcnow())
    token, now = secrets.token_urlsafe(32), utcnow()
    await db.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    db.add(
        PasswordResetToken(
            token_hash=_reset_hash(token), user_id=user.id, created_at=now, expires_at=now + RESET_LIFETIME
        )
    )
    db.add(audit_event(None, "auth.password-reset-request", patient_id=None, entity=f"user:{user.id}", address=address))
    await db.commit()
    language = language_of(await db.get(PatientProfile, user.id))
    text = translate(
        language,
        "Someone (we hope you) asked to set a new password for the spasm diary account with this "
        "e-mail address. Open this link within 30 minutes to choose one; it works once:\n\n%(link)s"
        "\n\nIf it was not you, ignore this message: your password stays as it is.",
    )
    link = f"{settings.base_url}/reset-password?token={token}"
    return Mail(user.email, translate(language, "Set a new password for your spasm diary"), text % {"link": link})


INVALID_LINK = "This link has expired or has been used already. Ask for a new one."


async def reset_holder(db: AsyncSession, token: str) -> User | None:
    """The account a reset link is for while the link is unused and fresh; None otherwise."""
    if not token or len(token) > 128:
        return None
    row = await db.get(PasswordResetToken, _reset_hash(token))
    if row is None or row.used_at is not None or utcnow() >= row.expires_at:
        return None
    user = await db.get(User, row.user_id)
    return None if user is None or user.disabled_at is not None else user


async def complete_reset(db: AsyncSession, settings: Settings, token: str, new: str, *, address: str) -> SignedIn:
    """Sets the new password from a reset link (once: a second use finds the link used), ends every session
    (an attacker's too) and remembered browsers, and signs this browser in, through the second step where the account
    has one: a reset link proves the mailbox, not the authenticator app."""
    user = await reset_holder(db, token)
    if user is None:
        raise Problem(400, INVALID_LINK, code="reset-link-invalid", errors=[FieldError("token", INVALID_LINK)])
    now = utcnow()
    taken = await db.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == _reset_hash(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):  # used by a request that came a moment earlier
        await db.rollback()
        raise Problem(400, INVALID_LINK, code="reset-link-invalid", errors=[FieldError("token", INVALID_LINK)])
    await _set_password(db, user, new, "new_password")
    db.add(audit_event(None, "auth.password-reset", patient_id=None, entity=f"user:{user.id}", address=address))
    await throttle.succeeded(db, throttle.pair_key(user.email, address))
    if await two_step.is_on(db, user.id):
        challenge = await two_step.start_challenge(db, user.id)
        await db.commit()
        return SignedIn(user, challenge=challenge)
    session = await open_session(db, settings, user, address=address, replacing=None)
    await db.commit()
    return SignedIn(user, session=session)


# ---- two-step sign-in ------------------------------------------------------------------------------------------


async def require_password(db: AsyncSession, user_id: uuid.UUID, password: str) -> User:
    """The current password, asked again before sign-in settings change (ASVS 7.5.1); wrong ones are counted with
    the account's second-step codes (throttle.py)."""
    user = await db.get(User, user_id)
    assert user is not None
    key = throttle.code_key(user_id)
    await throttle.check(db, key)
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await throttle.failed(db, key)
        await db.commit()
        raise Problem(
            403,
            "That password is not right. Nothing was changed.",
            code="bad-password",
            errors=[FieldError("password", "is not your current password")],
        )
    return user


async def confirm_two_step(db: AsyncSession, settings: Settings, user_id: uuid.UUID, code: str) -> list[str]:
    key = throttle.code_key(user_id)
    await throttle.check(db, key)
    codes = await two_step.confirm(db, settings, user_id, code)
    if codes is None:
        await throttle.failed(db, key)
        await db.commit()
        raise Problem(
            422,
            "That code is not right. Type the six digits your app shows now.",
            code="bad-code",
            errors=[FieldError("code", "does not match the code the app shows now")],
        )
    await throttle.succeeded(db, key)
    await two_step.forget_devices(db, user_id)
    db.add(audit_event(None, "auth.two-step-on", patient_id=None, entity=f"user:{user_id}"))
    await db.commit()
    return codes


async def renew_recovery_codes(db: AsyncSession, user_id: uuid.UUID, password: str) -> list[str]:
    await require_password(db, user_id, password)
    if not await two_step.is_on(db, user_id):
        raise Problem(409, "Two-step sign-in is not on.", code="two-step-off")
    codes = await two_step.new_recovery_codes(db, user_id)
    db.add(audit_event(None, "auth.recovery-codes", patient_id=None, entity=f"user:{user_id}"))
    await db.commit()
    return codes


async def turn_off_two_step(db: AsyncSession, settings: Settings, user_id: uuid.UUID, password: str) -> None:
    await require_password(db, user_id, password)
    if settings.two_step_required:
        raise Problem(
            409,
            "Two-step sign-in is required for clinicians here; set it up again on a new phone instead.",
            code="two-step-required-here",
        )
    await two_step.turn_off(db, user_id)
    db.add(audit_event(None, "auth.two-step-off", patient_id=None, entity=f"user:{user_id}"))
    await db.commit()
