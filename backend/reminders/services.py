"""The work behind the reminder pages and API: the patient's inbox, their preferences, the browsers that get Web Push,
the private calendar address, and the follow-up appointments a clinician schedules (the notify scope).

Each function takes the session, the principal and what else it needs (the settings, the address for the audit log,
the name resolver for a push address), never a request; planning the queue is ``queue.plan_patient``."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary import doses
from backend.diary.services import Writes
from backend.reminders import calendar, endpoints, queue
from backend.reminders.models import Appointment, CalendarFeed, PushSubscription, Reminder, ReminderPreferences
from backend.reminders.schemas import (
    AppointmentIn,
    AppointmentOut,
    DoseAnswer,
    Inbox,
    PreferencesIn,
    PreferencesOut,
    PushSubscriptionIn,
    ReminderOut,
)
from backend.shared.access import require_link
from backend.shared.checks import text_problem
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, invalid, not_found

SHOWN = ("pending", "claimed", "sent", "failed")
FURTHEST = dt.timedelta(days=731)


def dose_slot(r: Reminder) -> tuple[uuid.UUID, str] | None:
    """The dose a medicine reminder stands for, from its key (``medicine:<regimen>:<day>T<HH:MM>``, planner.py)."""
    if r.kind != "medicine":
        return None
    parts = r.key.split(":", 2)
    try:
        return (uuid.UUID(parts[1]), parts[2]) if len(parts) == 3 else None
    except ValueError:
        return None


def reminder_out(r: Reminder, answers: dict[tuple[uuid.UUID, str], str] | None = None) -> ReminderOut:
    slot = dose_slot(r)
    return ReminderOut(
        id=r.id,
        kind=r.kind,
        title=r.title,
        body=r.body,
        due_at=r.due_at,
        status=r.status,
        acknowledged=r.acknowledged_at is not None,
        link=r.link,
        regimen_id=slot[0] if slot else None,
        scheduled_for=slot[1] if slot else None,
        dose=(answers or {}).get(slot) if slot else None,
    )


def appointment_out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=a.id,
        starts_at=a.starts_at,
        minutes=a.minutes,
        place=a.place,
        note=a.note,
        cancelled=a.cancelled_at is not None,
    )


async def inbox(db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime) -> Inbox:
    """The reminders due (the last 14 days, newest first) and those of the next 48 hours (soonest first)."""
    shown = (
        select(Reminder)
        .where(
            Reminder.patient_id == patient_id,
            Reminder.status.in_(SHOWN),
            Reminder.due_at <= now + dt.timedelta(hours=48),
            Reminder.due_at >= now - dt.timedelta(days=14),
        )
        .order_by(Reminder.due_at.desc())
    )
    rows = list((await db.execute(shown)).scalars())
    answered = await doses.answers(db, patient_id, [s for r in rows if (s := dose_slot(r))])
    due = [reminder_out(r, answered) for r in rows if r.due_at <= now]
    upcoming = sorted((reminder_out(r, answered) for r in rows if r.due_at > now), key=lambda r: r.due_at)
    return Inbox(due=due[:50], upcoming=upcoming[:20])


async def _own(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID) -> Reminder:
    row = await db.get(Reminder, (patient.user_id, reminder_id))
    if row is None or row.status in {"cancelled", "skipped"}:
        raise not_found("reminder")
    return row


async def acknowledge(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID) -> ReminderOut:
    row = await _own(db, patient, reminder_id)
    row.acknowledged_at = row.acknowledged_at or utcnow()
    await db.commit()
    return reminder_out(row)


async def snooze(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID, minutes: int) -> ReminderOut:
    """Due again in ``minutes``, delivered afresh (a new claim, a new count of attempts)."""
    row = await _own(db, patient, reminder_id)
    when = utcnow() + dt.timedelta(minutes=minutes)
    row.status, row.due_at, row.next_attempt_at, row.attempts, row.snoozed_until = "pending", when, when, 0, when
    row.acknowledged_at, row.claimed_until, row.claimed_by, row.sent_at = None, None, None, None
    await db.commit()
    return reminder_out(row)


async def answer_dose(
    db: AsyncSession, writes: Writes, patient: Principal, reminder_id: uuid.UUID, answer: DoseAnswer, *, address: str
) -> ReminderOut:
    """Taken, skipped or later, from the inbox or the notification: the dose is recorded (the diary's own write, so
    rules R10 and S5 count it), and the reminder is done, or due again in ``answer.minutes`` when it is "later"."""
    row = await _own(db, patient, reminder_id)
    slot = dose_slot(row)
    if slot is None:
        raise invalid([FieldError("status", "only a medicine reminder takes a dose answer")])
    await writes.dose(db, patient, slot[0], slot[1], answer.status, address=address)
    if answer.status == "later":
        await snooze(db, patient, reminder_id, answer.minutes)
    else:
        await acknowledge(db, patient, reminder_id)
    row = await _own(db, patient, reminder_id)
    return reminder_out(row, await doses.answers(db, patient.user_id, [slot]))


def _clock(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _time(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


async def preferences_out(db: AsyncSession, patient_id: uuid.UUID) -> PreferencesOut:
    p = await queue.preferences(db, patient_id)
    row = await db.get(ReminderPreferences, patient_id)
    return PreferencesOut(
        daily_log_at=_clock(p.daily_log_at),
        medicines=p.medicines,
        quiet_start=_clock(p.quiet_start),
        quiet_end=_clock(p.quiet_end),
        email=bool(row and row.email),
    )


async def save_preferences(db: AsyncSession, patient: Principal, data: PreferencesIn) -> PreferencesOut:
    """Stores the preferences and plans the patient's queue again with them."""
    if (data.quiet_start is None) != (data.quiet_end is None):
        raise invalid([FieldError("quiet_end", "quiet hours need both a start and an end")])
    row = await db.get(ReminderPreferences, patient.user_id)
    if row is None:
        row = ReminderPreferences(patient_id=patient.user_id, updated_at=utcnow())
        db.add(row)
    row.daily_log_at, row.medicines, row.email = _time(data.daily_log_at), data.medicines, data.email
    row.quiet_start, row.quiet_end, row.updated_at = _time(data.quiet_start), _time(data.quiet_end), utcnow()
    await db.commit()
    await queue.plan_patient(db, patient.user_id, utcnow())
    return await preferences_out(db, patient.user_id)


async def subscribe(
    db: AsyncSession,
    settings: Settings,
    patient: Principal,
    data: PushSubscriptionIn,
    *,
    resolver: endpoints.Resolver,
) -> None:
    """Web Push to this browser. In production its address must be a known push service on a public address
    (checked again before every send, endpoints.py)."""
    if settings.production:
        try:
            hosts = endpoints.allowed_hosts(settings.push_allowed_hosts)
            await endpoints.target(data.endpoint, production=True, hosts=hosts, resolver=resolver)
        except endpoints.Refused as refused:
            raise invalid([FieldError("endpoint", str(refused))]) from refused
    same = PushSubscription.patient_id == patient.user_id, PushSubscription.endpoint == data.endpoint
    existing = (await db.execute(select(PushSubscription).where(*same))).scalar_one_or_none()
    if existing is None:
        db.add(
            PushSubscription(
                patient_id=patient.user_id,
                endpoint=data.endpoint,
                p256dh=data.keys.p256dh,
                auth=data.keys.auth,
                created_at=utcnow(),
            )
        )
    else:
        existing.p256dh, existing.auth = data.keys.p256dh, data.keys.auth
    await db.commit()


async def unsubscribe(db: AsyncSession, patient: Principal, endpoint: str) -> None:
    same = PushSubscription.patient_id == patient.user_id, PushSubscription.endpoint == endpoint
    await db.execute(delete(PushSubscription).where(*same))
    await db.commit()


def _feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_feed(db: AsyncSession, settings: Settings, patient: Principal) -> str:
    """A new private calendar address (the old one stops working); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await db.execute(delete(CalendarFeed).where(CalendarFeed.patient_id == patient.user_id))
    db.add(CalendarFeed(patient_id=patient.user_id, token_hash=_feed_hash(token), created_at=utcnow()))
    await db.commit()
    return f"{settings.base_url}/calendar/{token}.ics"


async def end_feed(db: AsyncSession, patient: Principal) -> None:
    await db.execute(delete(CalendarFeed).where(CalendarFeed.patient_id == patient.user_id))
    await db.commit()


async def feed_calendar(db: AsyncSession, token: str) -> bytes:
    """The calendar behind a feed's address ("<token>.ics"): the token is the only key, so it is long and revocable."""
    if not token.endswith(".ics") or len(token) > 100:
        raise not_found("calendar")
    found = select(CalendarFeed).where(CalendarFeed.token_hash == _feed_hash(token[:-4]))
    feed = (await db.execute(found)).scalar_one_or_none()
    if feed is None:
        raise not_found("calendar")
    return await calendar.feed(db, feed.patient_id, utcnow())


async def schedule(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, data: AppointmentIn, *, address: str
) -> AppointmentOut:
    """A follow-up the clinician books (notify scope); the patient's reminders for it are planned at once."""
    await require_link(db, clinician, patient_id, "notify", "appointment.schedule", address=address)
    now = utcnow()
    if data.starts_at <= now:
        raise invalid([FieldError("starts_at", "must be in the future")])
    if data.starts_at > now + FURTHEST:
        raise invalid([FieldError("starts_at", "must be within two years")])
    errors = []
    for name, value, one_line in (("place", data.place, True), ("note", data.note, False)):
        if value and (reason := text_problem(value, one_line=one_line)):  # direction overrides, bare marks...
            errors.append(FieldError(name, reason))
    if errors:
        raise invalid(errors)
    row = Appointment(
        patient_id=patient_id,
        clinician_id=clinician.user_id,
        starts_at=data.starts_at,
        minutes=data.minutes,
        place=data.place,
        note=data.note,
        created_at=now,
    )
    db.add(row)  # require_link has recorded the access in the audit log
    await db.commit()
    await queue.plan_patient(db, patient_id, now)
    return appointment_out(row)


async def patient_appointments(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, *, address: str
) -> list[AppointmentOut]:
    await require_link(db, clinician, patient_id, "view", "appointment.read", address=address)
    return await appointments(db, patient_id)


async def cancel(
    db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, appointment_id: uuid.UUID, *, address: str
) -> None:
    """Cancels a follow-up; its reminders are cancelled with it."""
    await require_link(db, clinician, patient_id, "notify", "appointment.cancel", address=address)
    row = await db.get(Appointment, (patient_id, appointment_id))
    if row is None:
        raise not_found("appointment")
    row.cancelled_at = row.cancelled_at or utcnow()
    await db.commit()
    await queue.plan_patient(db, patient_id, utcnow())


async def appointments(db: AsyncSession, patient_id: uuid.UUID) -> list[AppointmentOut]:
    """Every follow-up of the patient, cancelled ones included, in time order."""
    rows = await db.execute(
        select(Appointment).where(Appointment.patient_id == patient_id).order_by(Appointment.starts_at)
    )
    return [appointment_out(a) for a in rows.scalars()]


async def coming_appointments(db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime) -> list[AppointmentOut]:
    return [a for a in await appointments(db, patient_id) if not a.cancelled and a.starts_at > now]
