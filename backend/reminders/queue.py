"""Planning reminders into the durable queue, and claiming them for delivery.

Planning is idempotent: each reminder has a key, and the insert skips keys that exist (ON CONFLICT DO NOTHING), so
any process may plan any patient at any time. A pending reminder whose reason went away (an appointment cancelled, a
medicine stopped, the daily time changed) is cancelled.

Claiming is atomic: one UPDATE ... RETURNING moves due reminders to ``claimed`` with a lease. On PostgreSQL the rows
are picked with FOR UPDATE SKIP LOCKED, so several dispatchers never wait for or take the same row; on SQLite writes
are serialised anyway. A dispatcher that dies after claiming leaves the lease to run out; then any dispatcher takes
the reminder again, so a crash delays a reminder but never loses it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import CheckIn, Episode, PatientProfile, Regimen
from backend.diary.records import zone_of
from backend.flags.models import LIVE_STATUSES, Flag
from backend.reminders import planner
from backend.reminders.models import Appointment, Reminder, ReminderPreferences
from backend.shared.i18n import translate

LEASE = dt.timedelta(minutes=2)
LOOKBACK = dt.timedelta(hours=24)
MAX_ATTEMPTS = 6


def _dialect(db: AsyncSession) -> str:
    return db.get_bind().dialect.name


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1, 2, 4, 8 minutes...: a push service that hiccups is tried again soon, one that is down is not hammered."""
    return dt.timedelta(seconds=30 * 2 ** max(0, attempts - 1))


async def preferences(db: AsyncSession, patient_id: uuid.UUID) -> planner.Preferences:
    row = await db.get(ReminderPreferences, patient_id)
    if row is None:
        return planner.Preferences()
    return planner.Preferences(
        daily_log_at=row.daily_log_at, medicines=row.medicines, quiet_start=row.quiet_start, quiet_end=row.quiet_end
    )


async def plan_patient(db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime) -> int:
    """Brings the patient's queue in line with their plan for the next 48 hours; returns how many were added."""
    profile = await db.get(PatientProfile, patient_id)
    if profile is None:
        return 0
    zone = zone_of(profile)
    appointments = [
        planner.AppointmentFact(str(a.id), a.starts_at)
        for a in (
            await db.execute(
                select(Appointment).where(
                    Appointment.patient_id == patient_id,
                    Appointment.cancelled_at.is_(None),
                    Appointment.starts_at > now,
                )
            )
        ).scalars()
    ]
    regimens = [
        planner.RegimenFact(str(r.id), r.kind, r.name, r.dose, tuple(r.times or ()), r.start_date, r.stop_date)
        for r in (
            await db.execute(select(Regimen).where(Regimen.patient_id == patient_id, Regimen.deleted_at.is_(None)))
        ).scalars()
    ]
    flags = [
        planner.FlagFact(str(f.id), f.rule_id, f.urgency, f.opened_at, f.status != "open")
        for f in (
            await db.execute(select(Flag).where(Flag.patient_id == patient_id, Flag.status.in_(LIVE_STATUSES)))
        ).scalars()
    ]
    prefs = await preferences(db, patient_id)

    def words(text: str) -> str:
        return translate(profile.language, text)

    wanted = planner.plan(now, zone, prefs, appointments, regimens, flags, words)
    # What was planned a day ago still stands unless its reason went away: a reminder moved by quiet hours, or due a
    # moment ago and not sent yet, is in this earlier plan though no longer in the one from now.
    earlier = planner.plan(now - LOOKBACK, zone, prefs, appointments, regimens, flags, words)
    added = 0
    if wanted:
        rows = [
            {
                "patient_id": patient_id,
                "id": uuid.uuid4(),
                "key": p.key,
                "kind": p.kind,
                "title": p.title,
                "body": p.body,
                "due_at": p.due_at,
                "next_attempt_at": p.due_at,
                "status": "pending",
                "attempts": 0,
                "link": p.link,
                "subject_id": p.subject_id,
                "created_at": now,
            }
            for p in wanted
        ]
        dialect = postgresql if _dialect(db) == "postgresql" else sqlite
        statement = dialect.insert(Reminder).values(rows).on_conflict_do_nothing(index_elements=["patient_id", "key"])
        result: Any = await db.execute(statement)
        added = result.rowcount or 0
    keys = {p.key for p in wanted} | {p.key for p in earlier}
    stale = (
        await db.execute(
            select(Reminder).where(
                Reminder.patient_id == patient_id,
                Reminder.status == "pending",
                Reminder.snoozed_until.is_(None),
                Reminder.due_at >= now - LOOKBACK,
                Reminder.due_at < now + planner.HORIZON,
            )
        )
    ).scalars()
    words_of = {p.key: (p.title, p.body) for p in wanted}
    for row in stale:
        if row.key not in keys:  # the appointment was cancelled, the medicine stopped, the daily time changed...
            row.status = "cancelled"
        elif row.key in words_of and (row.title, row.body) != words_of[row.key]:
            # A dose changed, or the patient's language: a reminder still waiting says what the plan says now.
            row.title, row.body = words_of[row.key]
    await db.commit()
    return added


async def claim(db: AsyncSession, now: dt.datetime, dispatcher: str, limit: int = 50) -> list[Reminder]:
    """Takes up to `limit` due reminders for this dispatcher, atomically; expired leases are taken over."""
    due = or_(
        and_(Reminder.status == "pending", Reminder.next_attempt_at <= now),
        and_(Reminder.status == "claimed", Reminder.claimed_until < now),
    )
    pick = select(Reminder.id).where(due).order_by(Reminder.next_attempt_at).limit(limit)
    if _dialect(db) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(pick.scalar_subquery()), due)
        .values(status="claimed", claimed_until=now + LEASE, claimed_by=dispatcher, attempts=Reminder.attempts + 1)
        .returning(Reminder)
        .execution_options(synchronize_session=False)
    )
    rows = list((await db.execute(statement)).scalars())
    await db.commit()
    return rows


async def still_needed(db: AsyncSession, reminder: Reminder, zone: ZoneInfo) -> bool:
    """The daily nudge is skipped when the patient already logged an episode or a check-in that day."""
    if reminder.kind != "daily_log":
        return True
    day = dt.date.fromisoformat(reminder.key.split(":", 1)[1])
    start = dt.datetime.combine(day, dt.time(), zone)
    logged = (
        await db.execute(
            select(Episode.id)
            .where(
                Episode.patient_id == reminder.patient_id,
                Episode.deleted_at.is_(None),
                Episode.started_at >= start,
                Episode.started_at < start + dt.timedelta(days=1),
            )
            .limit(1)
        )
    ).first()
    checked = await db.get(CheckIn, (reminder.patient_id, day))
    return logged is None and checked is None


def finish_values(sent: bool, attempts: int, now: dt.datetime, skipped: bool = False) -> dict[str, Any]:
    if skipped:
        return {"status": "skipped", "claimed_until": None}
    if sent:
        return {"status": "sent", "sent_at": now, "claimed_until": None}
    if attempts >= MAX_ATTEMPTS:
        return {"status": "failed", "claimed_until": None}
    return {"status": "pending", "next_attempt_at": now + backoff(attempts), "claimed_until": None}
