"""Registering people and checking who they are."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.accounts.passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from backend.accounts.schemas import RegisterIn
from backend.db import utcnow
from backend.diary.models import PatientProfile
from backend.diary.validation import known_time_zone, text_problem
from backend.problems import FieldError, Problem, invalid


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register(db: AsyncSession, data: RegisterIn) -> User:
    email = normalise_email(data.email)
    errors: list[FieldError] = []
    problem = password_problem(data.password, email=email)
    if problem:
        errors.append(FieldError("password", problem))
    for name, value in (("email", data.email), ("display_name", data.display_name)):
        if reason := text_problem(value, one_line=True):
            errors.append(FieldError(name, reason))
    if not data.display_name.strip():
        errors.append(FieldError("display_name", "is empty"))
    if not known_time_zone(data.time_zone):
        errors.append(FieldError("time_zone", "is not a known time zone name such as Europe/London"))
    if errors:
        raise invalid(errors)
    now = utcnow()
    user = User(
        email=email,
        password_hash=await asyncio.to_thread(hash_password, data.password),
        role=data.role,
        display_name=data.display_name.strip(),
        created_at=now,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Problem(
            409, "An account with this e-mail address already exists. Sign in instead.", code="email-taken"
        ) from exc
    if data.role == "patient":
        db.add(
            PatientProfile(
                patient_id=user.id,
                conditions=[],
                time_zone=data.time_zone,
                sleep_start=dt.time(23, 0),
                sleep_end=dt.time(7, 0),
                language=data.language,
                version=1,
                updated_at=now,
            )
        )
    return user


async def authenticate(db: AsyncSession, email: str, password: str) -> User | None:
    user = (await db.execute(select(User).where(func.lower(User.email) == normalise_email(email)))).scalar_one_or_none()
    if user is None:
        await asyncio.to_thread(
            verify_password, DUMMY_HASH, password
        )  # same work either way, so timing does not tell who has an account
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password) or user.disabled_at is not None:
        return None
    return user
