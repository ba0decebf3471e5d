"""The patient's private iCalendar feed (RFC 5545): follow-up appointments and treatment reviews."""

from __future__ import annotations

import datetime as dt
import uuid

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import PatientProfile
from backend.reminders.models import Appointment, Reminder
from backend.shared.i18n import translate


async def feed(db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime) -> bytes:
    profile = await db.get(PatientProfile, patient_id)
    language = profile.language if profile else "en"
    calendar = Calendar()
    calendar.add("prodid", "-//spasm-diary//reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", translate(language, "Spasm diary"))
    appointments = (
        await db.execute(
            select(Appointment).where(
                Appointment.patient_id == patient_id, Appointment.starts_at >= now - dt.timedelta(days=90)
            )
        )
    ).scalars()
    for a in appointments:
        event = Event()
        event.add("uid", f"appointment-{a.id}@spasm-diary")
        event.add("dtstamp", a.created_at)
        event.add("dtstart", a.starts_at.astimezone(dt.UTC))
        event.add("dtend", a.starts_at.astimezone(dt.UTC) + dt.timedelta(minutes=a.minutes))
        event.add("summary", translate(language, "Follow-up appointment"))
        if a.place:
            event.add("location", a.place)
        event.add("status", "CANCELLED" if a.cancelled_at else "CONFIRMED")
        calendar.add_component(event)
    reviews = (
        await db.execute(
            select(Reminder).where(
                Reminder.patient_id == patient_id,
                Reminder.kind == "treatment_review",
                Reminder.status.in_(("pending", "claimed", "sent")),
            )
        )
    ).scalars()
    for r in reviews:
        event = Event()
        event.add("uid", f"review-{r.id}@spasm-diary")
        event.add("dtstamp", r.created_at)
        event.add("dtstart", r.due_at.astimezone(dt.UTC))
        event.add("dtend", r.due_at.astimezone(dt.UTC) + dt.timedelta(minutes=15))
        event.add("summary", r.title)
        event.add("description", r.body)
        calendar.add_component(event)
    return calendar.to_ical()
