"""The account services on their own: a database session and settings in, plain results or a Problem out.

No app and no request: this is what the API and the pages both call, so what holds here holds for both.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import services
from backend.accounts.models import User, WebSession
from backend.accounts.schemas import RegisterIn
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker
from backend.diary.models import PatientProfile
from backend.shared.audit import AuditEvent
from backend.shared.principal import Principal
from backend.shared.problems import Problem

PASSWORD = "a perfectly fine pass-phrase"
ADDRESS = "192.0.2.7"


@pytest_asyncio.fixture(loop_scope="session")
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def new_account(role: str = "patient", **fields: str) -> RegisterIn:
    values = {
        "email": f"Service-{uuid.uuid4().hex[:10]}@Example.org",
        "password": PASSWORD,
        "display_name": "  Ana  ",
        "role": role,
        "time_zone": "Europe/Madrid",
        "language": "es",
        **fields,
    }
    return RegisterIn(**values)  # type: ignore[arg-type]


async def sessions_of(db: AsyncSession, user_id: uuid.UUID) -> int:
    return (
        await db.execute(select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id))
    ).scalar_one()


async def test_registering_a_patient_makes_the_account_its_profile_and_a_session(
    db: AsyncSession, settings: Settings
) -> None:
    data = new_account()
    made = await services.register(db, settings, data, address=ADDRESS, replacing=None)
    user = await db.get(User, made.user_id)
    profile = await db.get(PatientProfile, made.user_id)
    assert user is not None and profile is not None
    assert user.email == data.email.lower() and made.email == user.email
    assert user.display_name == "Ana" and user.password_hash != PASSWORD
    assert (profile.time_zone, profile.language, profile.version) == ("Europe/Madrid", "es", 1)
    assert made.mail is None and await sessions_of(db, made.user_id) == 1


async def test_a_clinician_gets_no_patient_profile(db: AsyncSession, settings: Settings) -> None:
    made = await services.register(db, settings, new_account("clinician"), address=ADDRESS, replacing=None)
    assert (await db.get(User, made.user_id)) is not None
    assert (await db.get(PatientProfile, made.user_id)) is None


async def test_a_taken_email_answers_like_a_new_account_and_writes_nothing(
    db: AsyncSession, settings: Settings
) -> None:
    first = new_account()
    owner = await services.register(db, settings, first, address=ADDRESS, replacing=None)
    again = await services.register(
        db,
        settings,
        new_account(email=first.email.upper(), display_name="Someone else"),
        address=ADDRESS,
        replacing=None,
    )
    assert again.user_id != owner.user_id and again.email == owner.email
    assert again.mail is not None and again.mail.to == owner.email  # the owner hears of it, in their language
    assert "forgot-password" in again.mail.text and "Alguien" in again.mail.subject
    users = (await db.execute(select(func.count()).select_from(User).where(User.email == owner.email))).scalar_one()
    assert users == 1 and (await db.get(User, again.user_id)) is None
    assert await sessions_of(db, owner.user_id) == 1


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"display_name": "Ana\u202e"}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"password": "short"}, "password"),
    ],
)
async def test_a_bad_field_is_refused_by_name_and_nothing_is_stored(
    db: AsyncSession, settings: Settings, fields: dict[str, str], name: str
) -> None:
    data = new_account(**fields)
    with pytest.raises(Problem) as refused:
        await services.register(db, settings, data, address=ADDRESS, replacing=None)
    assert refused.value.status_code == 422
    assert name in {error.field for error in refused.value.errors}
    stored = (await db.execute(select(User).where(User.email == data.email.lower()))).scalar_one_or_none()
    assert stored is None


async def test_signing_in_checks_the_password_and_records_both_outcomes(db: AsyncSession, settings: Settings) -> None:
    data = new_account()
    made = await services.register(db, settings, data, address=ADDRESS, replacing=None)
    with pytest.raises(Problem) as refused:
        await services.sign_in(
            db, settings, email=data.email, password="not it", address=ADDRESS, replacing=None, device=None
        )
    assert refused.value.status_code == 401
    signed = await services.sign_in(
        db, settings, email=data.email.upper(), password=PASSWORD, address=ADDRESS, replacing=None, device=None
    )
    assert signed.user.id == made.user_id and signed.session and signed.challenge is None
    outcomes = (
        (
            await db.execute(
                select(AuditEvent.outcome).where(AuditEvent.action == "auth.sign-in", AuditEvent.address == ADDRESS)
            )
        )
        .scalars()
        .all()
    )
    assert {"failure", "success"} <= set(outcomes)


async def test_a_disabled_account_cannot_sign_in_and_loses_its_sessions(db: AsyncSession, settings: Settings) -> None:
    data = new_account()
    made = await services.register(db, settings, data, address=ADDRESS, replacing=None)
    assert await services.set_disabled(db, data.email, True) is not None
    assert await sessions_of(db, made.user_id) == 0
    assert await services.authenticate(db, data.email, PASSWORD) is None
    assert await services.set_disabled(db, data.email, False) is not None
    assert (await services.authenticate(db, data.email, PASSWORD)) is not None
    assert await services.set_disabled(db, "nobody-" + data.email, True) is None


async def test_erasing_takes_everything_but_keeps_the_audit_trail(db: AsyncSession, settings: Settings) -> None:
    data = new_account()
    made = await services.register(db, settings, data, address=ADDRESS, replacing=None)
    me = Principal(made.user_id, "patient", made.display_name, made.email, made.session)
    with pytest.raises(Problem) as unconfirmed:
        await services.erase(db, me, PASSWORD, "yes", address=ADDRESS)
    assert unconfirmed.value.status_code == 422 and (await db.get(User, made.user_id)) is not None
    with pytest.raises(Problem) as wrong:
        await services.erase(db, me, "not it", "erase my account", address=ADDRESS)
    assert wrong.value.status_code == 403 and (await db.get(User, made.user_id)) is not None
    await services.erase(db, me, PASSWORD, " Erase my account ", address=ADDRESS)
    db.expunge_all()
    assert (await db.get(User, made.user_id)) is None and (await db.get(PatientProfile, made.user_id)) is None
    assert await sessions_of(db, made.user_id) == 0
    erased = (
        await db.execute(
            select(AuditEvent).where(AuditEvent.action == "account.erase", AuditEvent.patient_id == made.user_id)
        )
    ).scalar_one()
    assert erased.entity == f"user:{made.user_id}"
