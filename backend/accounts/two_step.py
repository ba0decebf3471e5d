"""Two-step sign-in for clinicians (ASVS 6.3.3; HIPAA 164.312(d)): a TOTP code from an authenticator app (RFC 6238,
pyotp), one-time recovery codes for a lost phone, and browsers remembered for at most 30 days.

A clinician's account opens every linked patient's diary, so a password alone is not enough there; in production a
clinician without two-step sign-in is led to set it up before seeing any patient (dependencies.authenticate).

- The secret is stored encrypted (AES-GCM, a key derived from SPASM_SECRET_KEY): a copy of the database alone makes
  no codes. Changing SPASM_SECRET_KEY therefore ends every set-up; clinicians then sign in with a recovery code and
  set it up again.
- A code is accepted for the current 30-second step or the one either side (clocks drift), and never for a step at
  or before the last one accepted, so an overheard code cannot be used again (ASVS 6.5.1).
- Recovery codes are random (about 59 bits), shown once, stored as hashes, and each works once.
- Codes are counted by throttle.py (per account, growing delay) and at most a few per half-done sign-in.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
import uuid

import pyotp
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import RecoveryCode, RememberedDevice, SignInChallenge, TwoStepSecret
from backend.accounts.schemas import TwoStepOut
from backend.config import Settings
from backend.db import utcnow
from backend.shared.principal import Principal

ISSUER = "Spasm diary"
STEP = 30  # seconds, RFC 6238's default and what every authenticator app uses
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # the sharing codes' alphabet: no 0/O, 1/I/L or U
RECOVERY_LENGTH = 12
REMEMBER_FOR = dt.timedelta(days=30)
CHALLENGE_LIFETIME = dt.timedelta(minutes=10)
CHALLENGE_ATTEMPTS = 5


def _cipher(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"spasm-diary two-step secrets").derive(
        settings.secret_key.encode()
    )
    return AESGCM(key)


def seal(settings: Settings, user_id: uuid.UUID, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _cipher(settings).encrypt(nonce, secret.encode(), str(user_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, user_id: uuid.UUID, sealed: str) -> str | None:
    """The secret, or None when it cannot be read (SPASM_SECRET_KEY changed since, or the row was tampered with)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return _cipher(settings).decrypt(raw[:12], raw[12:], str(user_id).encode()).decode()
    except Exception:
        return None


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, xmldecl=False, title="Set-up code for an authenticator app"
    )
    return out.getvalue().decode()


def matching_step(secret: str, code: str, now: dt.datetime, after: int) -> int | None:
    """The time step a six-digit code belongs to (now, or one step either side), if it is later than ``after``."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _recovery_hash(user_id: uuid.UUID, code: str) -> str:
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(f"{user_id}:{normal}".encode()).hexdigest()


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


async def secret_row(db: AsyncSession, user_id: uuid.UUID) -> TwoStepSecret | None:
    return await db.get(TwoStepSecret, user_id)


async def is_on(db: AsyncSession, user_id: uuid.UUID) -> bool:
    row = await secret_row(db, user_id)
    return row is not None and row.confirmed_at is not None


async def begin(db: AsyncSession, settings: Settings, user_id: uuid.UUID) -> str:
    """A new secret waiting for its first code; a confirmed set-up stays in force until the new one is confirmed."""
    secret = pyotp.random_base32()
    row = await secret_row(db, user_id)
    sealed = seal(settings, user_id, secret)
    if row is None:
        db.add(TwoStepSecret(user_id=user_id, secret_encrypted=sealed, created_at=utcnow(), last_step=0))
    elif row.confirmed_at is None:
        row.secret_encrypted, row.created_at = sealed, utcnow()
    else:
        # Setting up again (a new phone) replaces the old secret at once: the old app's codes stop working, and until
        # a first code confirms the new one the account counts as having no second step (set-up is asked again).
        row.secret_encrypted, row.created_at, row.confirmed_at, row.last_step = sealed, utcnow(), None, 0
    await db.flush()
    return secret


async def pending_secret(db: AsyncSession, settings: Settings, user_id: uuid.UUID) -> str | None:
    row = await secret_row(db, user_id)
    if row is None or row.confirmed_at is not None:
        return None
    return unseal(settings, user_id, row.secret_encrypted)


async def confirm(db: AsyncSession, settings: Settings, user_id: uuid.UUID, code: str) -> list[str] | None:
    """Turns a pending secret on with its first code; answers the new recovery codes (shown once), or None."""
    row = await secret_row(db, user_id)
    if row is None or row.confirmed_at is not None:
        return None
    secret = unseal(settings, user_id, row.secret_encrypted)
    step = matching_step(secret, code, utcnow(), row.last_step) if secret else None
    if step is None:
        return None
    row.confirmed_at, row.last_step = utcnow(), step
    return await new_recovery_codes(db, user_id)


async def new_recovery_codes(db: AsyncSession, user_id: uuid.UUID) -> list[str]:
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.add_all(RecoveryCode(user_id=user_id, code_hash=_recovery_hash(user_id, c)) for c in codes)
    return codes


async def recovery_codes_left(db: AsyncSession, user_id: uuid.UUID) -> int:
    rows = await db.execute(select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
    return len(rows.scalars().all())


async def turn_off(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(TwoStepSecret).where(TwoStepSecret.user_id == user_id))
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    await forget_devices(db, user_id)


async def verify(db: AsyncSession, settings: Settings, user_id: uuid.UUID, code: str) -> bool:
    """A code from the authenticator app (used at most once) or an unused recovery code (then used up)."""
    row = await secret_row(db, user_id)
    if row is None or row.confirmed_at is None:
        return False
    secret = unseal(settings, user_id, row.secret_encrypted)
    step = matching_step(secret, code, utcnow(), row.last_step) if secret else None
    if step is not None:
        # Only one request can move last_step past this step, so a code raced twice is accepted once.
        moved = await db.execute(
            update(TwoStepSecret)
            .where(TwoStepSecret.user_id == user_id, TwoStepSecret.last_step < step)
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(moved, "rowcount", 0))
    used = await db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _recovery_hash(user_id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(used, "rowcount", 0))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def remember_device(db: AsyncSession, user_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(RememberedDevice(token_hash=_hash(token), user_id=user_id, created_at=now, expires_at=now + REMEMBER_FOR))
    return token


async def remembered(db: AsyncSession, user_id: uuid.UUID, token: str | None) -> bool:
    if not token or len(token) > 128:
        return False
    row = await db.get(RememberedDevice, _hash(token))
    return row is not None and row.user_id == user_id and utcnow() < row.expires_at


async def forget_devices(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(RememberedDevice).where(RememberedDevice.user_id == user_id))


async def start_challenge(db: AsyncSession, user_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await db.execute(
        delete(SignInChallenge).where(SignInChallenge.user_id == user_id, SignInChallenge.expires_at < now)
    )
    expires = now + CHALLENGE_LIFETIME
    db.add(SignInChallenge(token_hash=_hash(token), user_id=user_id, created_at=now, attempts=0, expires_at=expires))
    return token


async def challenge(db: AsyncSession, token: str | None) -> SignInChallenge | None:
    if not token or len(token) > 128:
        return None
    row = await db.get(SignInChallenge, _hash(token))
    if row is None or utcnow() >= row.expires_at or row.attempts >= CHALLENGE_ATTEMPTS:
        return None
    return row


async def end_challenge(db: AsyncSession, token: str) -> None:
    await db.execute(delete(SignInChallenge).where(SignInChallenge.token_hash == _hash(token)))


async def end_challenges(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(SignInChallenge).where(SignInChallenge.user_id == user_id))


async def status(db: AsyncSession, settings: Settings, clinician: Principal) -> TwoStepOut:
    """Whether a clinician's two-step sign-in is on, whether it is required, and how many recovery codes are left."""
    return TwoStepOut(
        enabled=await is_on(db, clinician.user_id),
        required=settings.two_step_required,
        recovery_codes_left=await recovery_codes_left(db, clinician.user_id),
    )
