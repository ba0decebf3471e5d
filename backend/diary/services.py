"""The diary's work: writing and reading episodes, check-ins, Penn ratings, regimens and the profile.

Plain functions and one class taking a database session, the principal and explicit collaborators (the grouped
writer, the follow-up rules' safety checks, the settings); never a request. The JSON API (api.py) and the pages
(pages.py) call the same functions, so a form is held to exactly the API's rules. Every query is scoped to the
patient: a record of someone else answers exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import Base, utcnow
from backend.diary import doses, records, validation
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.diary.safety import Safety
from backend.diary.schemas import (
    CheckInIn,
    CheckInOut,
    DoseOut,
    EpisodeIn,
    EpisodeOut,
    EpisodePage,
    IsoWeek,
    PennIn,
    PennOut,
    ProfileIn,
    ProfileOut,
    RegimenIn,
    RegimenOut,
)
from backend.diary.versions import content_hash, tombstone, versioned_write
from backend.diary.writer import EpisodeWrite, EpisodeWriter
from backend.shared import instants, limits
from backend.shared.audit import audit_event
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid, not_found


def _auditor(patient: Principal, entity: str, address: str) -> Callable[[str], Base]:
    def make(action: str) -> Base:
        return audit_event(
            patient, f"{entity.split(':')[0]}.{action}", patient_id=patient.user_id, entity=entity, address=address
        )

    return make


def is_iso_week(week: str) -> bool:
    try:
        msgspec.convert(week, IsoWeek)
    except msgspec.ValidationError:
        return False
    return True


def checked_week(week: str) -> str:
    """An ISO week as the API's pattern states it (2026-W49): the page's address is held to it too, so one week is
    stored under one key."""
    try:
        return msgspec.convert(week, IsoWeek)
    except msgspec.ValidationError as exc:
        raise invalid([FieldError("week", "must be an ISO week such as 2026-W49")]) from exc


@dataclass
class Writes:
    """Every diary write, with what it needs: the grouped episode writer, the follow-up rules' safety checks (so that
    the answer to a write carries the urgent advice it calls for), the settings (the write limit), and a session
    maker for the episode's check (the writer holds no session of the caller's)."""

    settings: Settings
    writer: EpisodeWriter
    safety: Safety
    maker: async_sessionmaker[AsyncSession]

    async def episode(
        self,
        patient: Principal | None,
        episode_id: uuid.UUID,
        data: EpisodeIn,
        if_match: int | None,
        *,
        address: str,
        token: str | None = None,
        held: AsyncSession | None = None,
    ) -> tuple[EpisodeOut, bool]:
        """The one write path of an episode. ``patient`` None means the writer resolves ``token`` (the request's
        session cookie) in its batch: the API's hot path has no session of its own. A page passes the session it
        holds, which is committed first: on SQLite the app pools one connection, which the check may need."""
        validation.check_episode(data, utcnow())
        if held is not None:
            await held.commit()
        job = EpisodeWrite(episode_id, data, if_match, address, token=token, principal=patient)
        written = await self.writer.write(job)
        out = records.episode_out(written.row)
        if written.urgent_check:
            # The screen could not clear this write (a warning sign, or rules that need the weeks before it): the
            # urgent rules run now, so that the answer to this very write carries the safety advice.
            async with self.maker() as session:
                out.safety = await self.safety.after_episode(session, written.principal, written.row, written.now)
        self.safety.schedule(written.principal.user_id)
        return out, written.created

    async def checkin(
        self, db: AsyncSession, patient: Principal, day: dt.date, data: CheckInIn, if_match: int | None, *, address: str
    ) -> tuple[CheckInOut, bool]:
        now = utcnow()
        validation.check_checkin(day, data, now)
        if data.no_episodes and (logged := await episodes_on(db, patient.user_id, day)):
            raise validation.no_episodes_contradicted(day, logged)
        await limits.diary_write(db, self.settings, patient.user_id)
        result = await versioned_write(
            db,
            CheckIn,
            patient_id=patient.user_id,
            key=and_(CheckIn.patient_id == patient.user_id, CheckIn.day == day),
            fingerprint=content_hash(data),
            values=records.checkin_values(data),
            if_match=if_match,
            now=now,
            new_row={"day": day, "entered_at": data.entered_at or now},
            what="check-in",
            audit=_auditor(patient, f"checkin:{day.isoformat()}", address),
        )
        out = records.checkin_out(result.row)
        out.safety = await self.safety.after_checkin(db, patient, result.row, now)
        self.safety.schedule(patient.user_id)
        return out, result.created

    async def untick_no_episodes(self, db: AsyncSession, patient: Principal, day: dt.date, *, address: str) -> None:
        """The day's check-in without its "no episodes today" (the rest kept), through the check-in's own write."""
        row = await db.get(CheckIn, (patient.user_id, day))
        if row is None or not row.no_episodes:
            return
        current = records.checkin_out(row)
        fields = {f: getattr(current, f) for f in CheckInIn.__struct_fields__ if f != "entered_at"}
        await self.checkin(
            db, patient, day, CheckInIn(**{**fields, "no_episodes": False}), row.version, address=address
        )

    async def penn(
        self, db: AsyncSession, patient: Principal, week: str, data: PennIn, if_match: int | None, *, address: str
    ) -> tuple[PennOut, bool]:
        now = utcnow()
        week = checked_week(week)
        validation.check_penn(week, data, now)
        await limits.diary_write(db, self.settings, patient.user_id)
        result = await versioned_write(
            db,
            PennRating,
            patient_id=patient.user_id,
            key=and_(PennRating.patient_id == patient.user_id, PennRating.week == week),
            fingerprint=content_hash(data),
            values=records.penn_values(data),
            if_match=if_match,
            now=now,
            new_row={"week": week, "entered_at": data.entered_at or now},
            what="Penn rating",
            audit=_auditor(patient, f"penn:{week}", address),
        )
        self.safety.schedule(patient.user_id)
        return records.penn_out(result.row), result.created

    async def regimen(
        self,
        db: AsyncSession,
        patient: Principal,
        regimen_id: uuid.UUID,
        data: RegimenIn,
        if_match: int | None,
        *,
        address: str,
    ) -> tuple[RegimenOut, bool]:
        now = utcnow()
        validation.check_regimen(data, now)
        await limits.diary_write(db, self.settings, patient.user_id)
        result = await versioned_write(
            db,
            Regimen,
            patient_id=patient.user_id,
            key=Regimen.id == regimen_id,
            fingerprint=content_hash(data),
            values=records.regimen_values(data),
            if_match=if_match,
            now=now,
            new_row={"id": regimen_id, "entered_at": data.entered_at or now},
            what="regimen",
            audit=_auditor(patient, f"regimen:{regimen_id}", address),
        )
        self.safety.schedule(patient.user_id)
        return records.regimen_out(result.row), result.created

    async def dose(
        self,
        db: AsyncSession,
        patient: Principal,
        regimen_id: uuid.UUID,
        slot: str,
        status: str,
        *,
        dose_id: uuid.UUID | None = None,
        address: str,
    ) -> tuple[DoseOut, bool]:
        """One dose answered taken, skipped or later (doses.py); the rules that read adherence (R10, S5) run again."""
        out, created = await doses.record(
            db, self.settings, patient, regimen_id, slot, status, dose_id=dose_id, address=address
        )
        self.safety.schedule(patient.user_id)
        return out, created

    async def delete(
        self,
        db: AsyncSession,
        patient: Principal,
        model: type[Episode] | type[Regimen],
        record_id: uuid.UUID,
        if_match: int | None,
        *,
        address: str,
    ) -> None:
        """An episode or a regimen becomes a tombstone, so that other devices learn of it when they sync."""
        what = "episode" if model is Episode else "regimen"
        await limits.diary_write(db, self.settings, patient.user_id)
        await tombstone(
            db,
            model,
            patient_id=patient.user_id,
            key=model.id == record_id,
            if_match=if_match,
            now=utcnow(),
            what=what,
            audit=_auditor(patient, f"{what}:{record_id}", address),
        )
        self.safety.schedule(patient.user_id)

    async def profile(
        self, db: AsyncSession, patient: Principal, data: ProfileIn, if_match: int | None, *, address: str
    ) -> ProfileOut:
        """Replaces the profile; like every record, only on top of the version the patient saw (If-Match)."""
        validation.check_profile(data)
        row = await db.get(PatientProfile, patient.user_id)
        if row is None:
            raise not_found("profile")
        if if_match is None:
            raise Problem(
                428,
                "Send If-Match with the profile version you edited.",
                code="version-required",
                headers={"ETag": f'"{row.version}"'},
            )
        if if_match != row.version:
            raise Problem(
                412,
                f"The profile changed since you loaded it (now version {row.version}). Nothing was saved.",
                code="stale-version",
                headers={"ETag": f'"{row.version}"'},
                extra_members={"current_version": row.version},
            )
        for name, value in records.profile_values(data).items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = utcnow()
        db.add(audit_event(patient, "profile.update", patient_id=patient.user_id, address=address))
        await db.commit()
        self.safety.schedule(patient.user_id)
        return records.profile_out(row)


async def episodes_on(db: AsyncSession, patient_id: uuid.UUID, day: dt.date) -> list[uuid.UUID]:
    """The episodes counted on a local day (each by the offset its phone recorded, as the rules count them)."""
    low = dt.datetime.combine(day, dt.time(), dt.UTC) - dt.timedelta(hours=15)
    high = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(hours=15)
    rows = await db.execute(
        select(Episode.id, Episode.started_at, Episode.start_offset).where(
            Episode.patient_id == patient_id,
            Episode.deleted_at.is_(None),
            Episode.started_at >= low,
            Episode.started_at < high,
        )
    )
    return [r.id for r in rows if validation.local_day(r.started_at, r.start_offset) == day]


# ---- reading ---------------------------------------------------------------------------------------------------


async def episode_row(db: AsyncSession, patient_id: uuid.UUID, episode_id: uuid.UUID) -> Episode:
    row = await db.get(Episode, (patient_id, episode_id))
    if row is None or row.deleted_at is not None:
        raise not_found("episode")
    return row


async def profile_row(db: AsyncSession, patient_id: uuid.UUID) -> PatientProfile:
    row = await db.get(PatientProfile, patient_id)
    if row is None:  # every patient gets one at registration; only a half-erased account could lack it
        raise not_found("profile")
    return row


def _encode_cursor(started_at: dt.datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{row_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        started, row_id = text.split("|")
        moment, after = dt.datetime.fromisoformat(started), uuid.UUID(row_id)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise instants.bad_cursor("cursor", "is not a cursor this server gave out") from exc
    if instants.instant_problem(moment):
        raise instants.bad_cursor("cursor", "is not a cursor this server gave out")
    return moment, after


def _in_order(start: Any, end: Any) -> None:
    if start is not None and end is not None and end < start:
        raise invalid([FieldError("to", "must not be before from")])


async def episode_page(
    db: AsyncSession,
    patient_id: uuid.UUID,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> EpisodePage:
    """Episodes, newest first, filtered by start time, a page at a time."""
    instants.checked_instant(start, "from")
    instants.checked_instant(end, "to")
    after = _decode_cursor(cursor) if cursor else None
    _in_order(start, end)
    query = select(Episode).where(Episode.patient_id == patient_id, Episode.deleted_at.is_(None))
    if start is not None:
        query = query.where(Episode.started_at >= start)
    if end is not None:
        query = query.where(Episode.started_at < end)
    if after is not None:
        after_time, after_id = after
        query = query.where(
            or_(Episode.started_at < after_time, and_(Episode.started_at == after_time, Episode.id < after_id))
        )
    ordered = query.order_by(Episode.started_at.desc(), Episode.id.desc()).limit(limit + 1)
    rows = (await db.execute(ordered)).scalars().all()
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1].started_at, page[-1].id) if len(rows) > limit else None
    return EpisodePage(items=[records.episode_out(r) for r in page], next_cursor=next_cursor)


async def checkins(
    db: AsyncSession, patient_id: uuid.UUID, *, start: dt.date | None, end: dt.date | None, limit: int
) -> list[CheckInOut]:
    instants.checked_day(start, "from")
    instants.checked_day(end, "to")
    _in_order(start, end)
    query = select(CheckIn).where(CheckIn.patient_id == patient_id)
    if start is not None:
        query = query.where(CheckIn.day >= start)
    if end is not None:
        query = query.where(CheckIn.day <= end)
    rows = (await db.execute(query.order_by(CheckIn.day.desc()).limit(limit))).scalars().all()
    return [records.checkin_out(r) for r in rows]


async def penn_ratings(db: AsyncSession, patient_id: uuid.UUID) -> list[PennOut]:
    query = select(PennRating).where(PennRating.patient_id == patient_id).order_by(PennRating.week.desc())
    return [records.penn_out(r) for r in (await db.execute(query)).scalars()]


async def regimens(db: AsyncSession, patient_id: uuid.UUID) -> list[RegimenOut]:
    query = (
        select(Regimen)
        .where(Regimen.patient_id == patient_id, Regimen.deleted_at.is_(None))
        .order_by(Regimen.start_date.desc())
    )
    return [records.regimen_out(r) for r in (await db.execute(query)).scalars()]


async def regimen_row(db: AsyncSession, patient_id: uuid.UUID, regimen_id: uuid.UUID) -> Regimen:
    row = await db.get(Regimen, (patient_id, regimen_id))
    if row is None or row.deleted_at is not None:
        raise not_found("regimen")
    return row


async def checkin_row(db: AsyncSession, patient_id: uuid.UUID, day: dt.date) -> CheckIn:
    row = await db.get(CheckIn, (patient_id, day))
    if row is None:
        raise not_found("check-in")
    return row
