"""The dose records: each scheduled dose of the plan answered taken, skipped or later, and what they add up to.

A dose is named by its regimen and its slot, the local day and the plan's time of day ("2026-12-04T08:00"), the way a
medicine reminder names it (its key is ``medicine:<regimen>:<slot>``). Writing is idempotent twice over: by the slot
(the inbox, the notification and the API all land on the one row of a dose) and by the id a phone chose (a replay of
the same answer changes nothing). An answer may change (later, then taken), which raises the record's version.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary.models import Dose, PatientProfile, Regimen
from backend.diary.records import zone_of
from backend.diary.schemas import DOSE_SLOT, DoseOut
from backend.shared import instants, limits
from backend.shared.audit import audit_event
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid, not_found

# An answer may come a little before the time (the patient takes it with breakfast at 07:50), not hours ahead.
EARLIEST_ANSWER = dt.timedelta(hours=2)
SLOT = re.compile(DOSE_SLOT)


def slot_of(day: dt.date, time: str) -> str:
    return f"{day.isoformat()}T{time}"


def parse_slot(slot: str, field: str = "scheduled_for") -> tuple[dt.date, str]:
    """A slot as its local day and time of day; 422 naming ``field`` when it is not one."""
    if not SLOT.fullmatch(slot):
        raise invalid([FieldError(field, "must be a day and a time of the plan such as 2026-12-04T08:00")])
    try:
        day = dt.date.fromisoformat(slot[:10])
    except ValueError as exc:
        raise invalid([FieldError(field, "is not a date we can read")]) from exc
    return day, slot[11:]


def scheduled_instant(day: dt.date, time: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The dose's moment in UTC: the wall-clock time on the patient's zone (the first of a repeated hour)."""
    hour, minute = (int(x) for x in time.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), zone).astimezone(dt.UTC)


def dose_out(row: Dose) -> DoseOut:
    return DoseOut(
        id=row.id,
        version=row.version,
        regimen_id=row.regimen_id,
        scheduled_for=slot_of(row.day, row.time),
        scheduled_at=row.scheduled_at,
        status=row.status,  # type: ignore[arg-type]
        answered_at=row.answered_at,
        updated_at=row.updated_at,
    )


def _check(regimen: Regimen, day: dt.date, time: str, at: dt.datetime, now: dt.datetime) -> None:
    errors = []
    if time not in (regimen.times or []):
        errors.append(FieldError("scheduled_for", "is not one of the times of day of this treatment"))
    if day < regimen.start_date or (regimen.stop_date is not None and day >= regimen.stop_date):
        errors.append(FieldError("scheduled_for", "is not a day this treatment was planned for"))
    if at > now + EARLIEST_ANSWER:
        errors.append(FieldError("scheduled_for", "is not due yet"))
    if instants.instant_problem(at):
        errors.append(FieldError("scheduled_for", "is out of range"))
    if errors:
        raise invalid(errors)


async def _slot_row(
    db: AsyncSession, patient_id: uuid.UUID, regimen_id: uuid.UUID, day: dt.date, time: str
) -> Dose | None:
    found = select(Dose).where(
        Dose.patient_id == patient_id, Dose.regimen_id == regimen_id, Dose.day == day, Dose.time == time
    )
    return (await db.execute(found)).scalar_one_or_none()


async def record(
    db: AsyncSession,
    settings: Settings,
    patient: Principal,
    regimen_id: uuid.UUID,
    slot: str,
    status: str,
    *,
    dose_id: uuid.UUID | None = None,
    address: str,
) -> tuple[DoseOut, bool]:
    """Records the answer to one dose; returns it and whether the record is new. Nothing is written when the answer
    is the one already recorded."""
    day, time = parse_slot(slot)
    regimen = await db.get(Regimen, (patient.user_id, regimen_id))
    if regimen is None or regimen.deleted_at is not None:
        raise not_found("regimen")
    profile = await db.get(PatientProfile, patient.user_id)
    zone = zone_of(profile) if profile else zoneinfo.ZoneInfo("UTC")
    now = utcnow()
    at = scheduled_instant(day, time, zone)
    _check(regimen, day, time, at, now)
    if dose_id is not None:
        named = await db.get(Dose, (patient.user_id, dose_id))
        if named is not None and (named.regimen_id, named.day, named.time) != (regimen_id, day, time):
            raise Problem(409, "This dose id was used for another dose. Nothing was saved.", code="dose-id-taken")
    for attempt in (1, 2):
        row = await _slot_row(db, patient.user_id, regimen_id, day, time)
        if row is not None:
            if row.status == status:
                return dose_out(row), False
            await limits.diary_write(db, settings, patient.user_id)
            row.status, row.answered_at, row.updated_at, row.version = status, now, now, row.version + 1
            db.add(
                audit_event(
                    patient, "dose.update", patient_id=patient.user_id, entity=f"dose:{row.id}", address=address
                )
            )
            await db.commit()
            return dose_out(row), False
        await limits.diary_write(db, settings, patient.user_id)
        row = Dose(
            patient_id=patient.user_id,
            id=dose_id or uuid.uuid4(),
            regimen_id=regimen_id,
            day=day,
            time=time,
            scheduled_at=at,
            status=status,
            answered_at=now,
            updated_at=now,
            version=1,
        )
        db.add(row)
        db.add(
            audit_event(patient, "dose.create", patient_id=patient.user_id, entity=f"dose:{row.id}", address=address)
        )
        try:
            await db.commit()
        except IntegrityError:
            # The same dose answered at the same moment from elsewhere (the notification and the inbox): read it.
            await db.rollback()
            if attempt == 2:
                raise
            continue
        return dose_out(row), True
    raise AssertionError("unreachable")


async def doses(
    db: AsyncSession, patient_id: uuid.UUID, *, start: dt.date | None, end: dt.date | None
) -> list[DoseOut]:
    """The dose records of a range of local days, newest first."""
    instants.checked_day(start, "from")
    instants.checked_day(end, "to")
    if start is not None and end is not None and end < start:
        raise invalid([FieldError("to", "must not be before from")])
    query = select(Dose).where(Dose.patient_id == patient_id)
    if start is not None:
        query = query.where(Dose.day >= start)
    if end is not None:
        query = query.where(Dose.day <= end)
    rows = (await db.execute(query.order_by(Dose.day.desc(), Dose.time.desc()))).scalars()
    return [dose_out(r) for r in rows]


async def answers(
    db: AsyncSession, patient_id: uuid.UUID, slots: Iterable[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], str]:
    """The recorded answer of each (regimen, slot) asked about that has one."""
    wanted = set(slots)
    if not wanted:
        return {}
    days = {dt.date.fromisoformat(s[:10]) for _r, s in wanted}
    rows = await db.execute(
        select(Dose).where(Dose.patient_id == patient_id, Dose.day >= min(days), Dose.day <= max(days))
    )
    found = {(r.regimen_id, slot_of(r.day, r.time)): r.status for r in rows.scalars()}
    return {k: v for k, v in found.items() if k in wanted}


async def adherence_by_regimen(
    db: AsyncSession, patient_id: uuid.UUID, first: dt.date, last: dt.date
) -> dict[uuid.UUID, tuple[int, int]]:
    """For each regimen, the doses taken and the doses answered taken or skipped, between two local days (a dose
    answered "later" is not decided yet, so it is in neither)."""
    rows = await db.execute(
        select(Dose.regimen_id, Dose.status).where(
            Dose.patient_id == patient_id, Dose.day >= first, Dose.day <= last, Dose.status.in_(["taken", "skipped"])
        )
    )
    out: dict[uuid.UUID, tuple[int, int]] = {}
    for regimen_id, status in rows:
        taken, answered = out.get(regimen_id, (0, 0))
        out[regimen_id] = (taken + (status == "taken"), answered + 1)
    return out
