"""Reminders over JSON and in the browser: the inbox, preferences, push subscriptions, the calendar feed, and the
follow-up appointments a clinician schedules (notify scope)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.response import Redirect, Template
from msgspec import Meta
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary.models import PatientProfile
from backend.diary.records import zone_of
from backend.diary.schemas import ClockTime
from backend.reminders import calendar, delivery, endpoints, services
from backend.reminders.models import Appointment, CalendarFeed, PushSubscription, Reminder, ReminderPreferences
from backend.shared.access import require_link
from backend.shared.checks import text_problem
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid, not_found
from backend.shared.schemas import Input

NO_STORE = {"Cache-Control": "no-store"}
PATIENT = {"patient": Provide(provide_patient)}
CLINICIAN = {"clinician": Provide(provide_clinician)}
SHOWN = ("pending", "claimed", "sent", "failed")
# No control characters: PostgreSQL refuses NUL in text, and none belongs in a name, a place or an address.
URL = r"^https?://[^\x00-\x20\x7f]+$"
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class ReminderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    due_at: dt.datetime
    status: str
    acknowledged: bool
    link: str | None


class Inbox(msgspec.Struct, kw_only=True):
    due: list[ReminderOut]
    upcoming: list[ReminderOut]


class ReminderSnoozeIn(Input, kw_only=True, forbid_unknown_fields=True):
    minutes: Annotated[int, Meta(ge=5, le=24 * 60)]


class PreferencesIn(Input, kw_only=True, forbid_unknown_fields=True):
    daily_log_at: ClockTime | None = None
    medicines: bool = True
    quiet_start: ClockTime | None = None
    quiet_end: ClockTime | None = None
    email: bool = False


class PreferencesOut(msgspec.Struct, kw_only=True):
    daily_log_at: str | None
    medicines: bool
    quiet_start: str | None
    quiet_end: str | None
    email: bool


class PushKeys(Input, kw_only=True, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(min_length=20, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$")]
    auth: Annotated[str, Meta(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_=-]+$")]


class PushSubscriptionIn(Input, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=12, max_length=2000, pattern=URL)]
    keys: PushKeys
    expirationTime: int | float | None = None


class EndpointIn(Input, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=12, max_length=2000, pattern=URL)]


class AppointmentIn(Input, kw_only=True, forbid_unknown_fields=True):
    starts_at: Annotated[dt.datetime, Meta(tz=True)]
    minutes: Annotated[int, Meta(ge=5, le=480)] = 30
    place: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] | None = None
    note: Annotated[str, Meta(max_length=2000, pattern=TEXT)] | None = None


class AppointmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    starts_at: dt.datetime
    minutes: int
    place: str | None
    note: str | None
    cancelled: bool


class FeedOut(msgspec.Struct, kw_only=True):
    url: str


def _out(r: Reminder) -> ReminderOut:
    return ReminderOut(id=r.id, kind=r.kind, title=r.title, body=r.body, due_at=r.due_at, status=r.status,
                       acknowledged=r.acknowledged_at is not None, link=r.link)  # fmt: skip


def _time(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


async def inbox(db: AsyncSession, patient_id: uuid.UUID, now: dt.datetime) -> Inbox:
    rows = list((await db.execute(select(Reminder).where(
        Reminder.patient_id == patient_id, Reminder.status.in_(SHOWN),
        Reminder.due_at <= now + dt.timedelta(hours=48), Reminder.due_at >= now - dt.timedelta(days=14),
    ).order_by(Reminder.due_at.desc()))).scalars())  # fmt: skip
    due = [_out(r) for r in rows if r.due_at <= now]
    upcoming = sorted((_out(r) for r in rows if r.due_at > now), key=lambda r: r.due_at)
    return Inbox(due=due[:50], upcoming=upcoming[:20])


async def _own(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID) -> Reminder:
    row = await db.get(Reminder, (patient.user_id, reminder_id))
    if row is None or row.status in {"cancelled", "skipped"}:
        raise not_found("reminder")
    return row


@get("/api/v1/reminders", tags=["reminders"], summary="My reminders: the ones due (the inbox) and the next 48 hours",
     dependencies=PATIENT)  # fmt: skip
async def list_reminders(db: AsyncSession, patient: Principal) -> Response[Inbox]:
    return Response(await inbox(db, patient.user_id, utcnow()), headers=NO_STORE)


@post("/api/v1/reminders/{reminder_id:uuid}/acknowledge", tags=["reminders"], status_code=200,
      summary="Done: mark a reminder as seen", dependencies=PATIENT)  # fmt: skip
async def acknowledge(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID) -> Response[ReminderOut]:
    row = await _own(db, patient, reminder_id)
    row.acknowledged_at = row.acknowledged_at or utcnow()
    await db.commit()
    return Response(_out(row), headers=NO_STORE)


@post("/api/v1/reminders/{reminder_id:uuid}/snooze", tags=["reminders"], status_code=200,
      summary="Remind me again in a while", dependencies=PATIENT)  # fmt: skip
async def snooze(
    db: AsyncSession, patient: Principal, reminder_id: uuid.UUID, data: ReminderSnoozeIn
) -> Response[ReminderOut]:
    row = await _own(db, patient, reminder_id)
    when = utcnow() + dt.timedelta(minutes=data.minutes)
    row.status, row.due_at, row.next_attempt_at, row.attempts, row.snoozed_until = "pending", when, when, 0, when
    row.acknowledged_at, row.claimed_until, row.claimed_by, row.sent_at = None, None, None, None
    await db.commit()
    return Response(_out(row), headers=NO_STORE)


async def _preferences_out(db: AsyncSession, patient_id: uuid.UUID) -> PreferencesOut:
    p = await services.preferences(db, patient_id)
    row = await db.get(ReminderPreferences, patient_id)
    return PreferencesOut(daily_log_at=p.daily_log_at.strftime("%H:%M") if p.daily_log_at else None,
                          medicines=p.medicines, quiet_start=p.quiet_start.strftime("%H:%M") if p.quiet_start else None,
                          quiet_end=p.quiet_end.strftime("%H:%M") if p.quiet_end else None,
                          email=bool(row and row.email))  # fmt: skip


@get("/api/v1/reminders/preferences", tags=["reminders"], summary="When I want reminders", dependencies=PATIENT)
async def get_preferences(db: AsyncSession, patient: Principal) -> Response[PreferencesOut]:
    return Response(await _preferences_out(db, patient.user_id), headers=NO_STORE)


async def save_preferences(db: AsyncSession, patient: Principal, data: PreferencesIn) -> PreferencesOut:
    if (data.quiet_start is None) != (data.quiet_end is None):
        raise invalid([FieldError("quiet_end", "quiet hours need both a start and an end")])
    row = await db.get(ReminderPreferences, patient.user_id)
    if row is None:
        row = ReminderPreferences(patient_id=patient.user_id, updated_at=utcnow())
        db.add(row)
    row.daily_log_at, row.medicines, row.email = _time(data.daily_log_at), data.medicines, data.email
    row.quiet_start, row.quiet_end, row.updated_at = _time(data.quiet_start), _time(data.quiet_end), utcnow()
    await db.commit()
    await services.plan_patient(db, patient.user_id, utcnow())
    return await _preferences_out(db, patient.user_id)


@put("/api/v1/reminders/preferences", tags=["reminders"], summary="Set when I want reminders", dependencies=PATIENT)
async def put_preferences(db: AsyncSession, patient: Principal, data: PreferencesIn) -> Response[PreferencesOut]:
    return Response(await save_preferences(db, patient, data), headers=NO_STORE)


@get("/api/v1/push/key", tags=["reminders"], summary="The server's VAPID public key (applicationServerKey)")
async def push_key(db: AsyncSession) -> dict[str, str]:
    return {"public_key": (await delivery.vapid_keys(db)).public}


@post("/api/v1/push/subscriptions", tags=["reminders"], status_code=201,
      summary="Send reminders to this browser by Web Push", dependencies=PATIENT)  # fmt: skip
async def subscribe(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: PushSubscriptionIn
) -> Response[dict[str, str]]:
    if settings.production:  # checked again before every send (endpoints.py)
        try:
            await endpoints.target(
                data.endpoint,
                production=True,
                hosts=endpoints.allowed_hosts(settings.push_allowed_hosts),
                resolver=request.app.state.dispatcher.resolver,
            )
        except endpoints.Refused as refused:
            raise invalid([FieldError("endpoint", str(refused))]) from refused
    existing = (await db.execute(select(PushSubscription).where(
        PushSubscription.patient_id == patient.user_id, PushSubscription.endpoint == data.endpoint))).scalar_one_or_none()  # fmt: skip
    if existing is None:
        db.add(PushSubscription(patient_id=patient.user_id, endpoint=data.endpoint, p256dh=data.keys.p256dh,
                                auth=data.keys.auth, created_at=utcnow()))  # fmt: skip
    else:
        existing.p256dh, existing.auth = data.keys.p256dh, data.keys.auth
    await db.commit()
    return Response({"status": "subscribed"}, status_code=201, headers=NO_STORE)


@post("/api/v1/push/subscriptions/remove", tags=["reminders"], status_code=204,
      summary="Stop Web Push to this browser", dependencies=PATIENT)  # fmt: skip
async def unsubscribe(db: AsyncSession, patient: Principal, data: EndpointIn) -> Response[None]:
    await db.execute(sql_delete(PushSubscription).where(PushSubscription.patient_id == patient.user_id,
                                                        PushSubscription.endpoint == data.endpoint))  # fmt: skip
    await db.commit()
    return Response(None, status_code=204, headers=NO_STORE)


def _feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_feed(db: AsyncSession, settings: Settings, patient: Principal) -> str:
    token = secrets.token_urlsafe(32)
    await db.execute(sql_delete(CalendarFeed).where(CalendarFeed.patient_id == patient.user_id))
    db.add(CalendarFeed(patient_id=patient.user_id, token_hash=_feed_hash(token), created_at=utcnow()))
    await db.commit()
    return f"{settings.base_url}/calendar/{token}.ics"


@post("/api/v1/calendar-feed", tags=["reminders"], status_code=201,
      summary="A private calendar address for my appointments and reviews (a new one ends the old)", dependencies=PATIENT)  # fmt: skip
async def make_feed(db: AsyncSession, settings: Settings, patient: Principal) -> Response[FeedOut]:
    return Response(FeedOut(url=await new_feed(db, settings, patient)), status_code=201, headers=NO_STORE)


@delete("/api/v1/calendar-feed", tags=["reminders"], status_code=204, summary="End my calendar address",
        dependencies=PATIENT)  # fmt: skip
async def end_feed(db: AsyncSession, patient: Principal) -> Response[None]:
    await db.execute(sql_delete(CalendarFeed).where(CalendarFeed.patient_id == patient.user_id))
    await db.commit()
    return Response(None, status_code=204, headers=NO_STORE)


@get("/calendar/{token:str}", include_in_schema=False)
async def calendar_feed(db: AsyncSession, token: str) -> Response[bytes]:
    """The feed a calendar app polls: the token in the address is the only key, so it is long and revocable."""
    if not token.endswith(".ics") or len(token) > 100:
        raise not_found("calendar")
    feed = (await db.execute(select(CalendarFeed).where(CalendarFeed.token_hash == _feed_hash(token[:-4])))).scalar_one_or_none()  # fmt: skip
    if feed is None:
        raise not_found("calendar")
    body = await calendar.feed(db, feed.patient_id, utcnow())
    return Response(body, media_type="text/calendar", headers=NO_STORE)  # Litestar adds the one charset


def _appointment_out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(id=a.id, starts_at=a.starts_at, minutes=a.minutes, place=a.place, note=a.note,
                          cancelled=a.cancelled_at is not None)  # fmt: skip


async def schedule(request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID,
                   data: AppointmentIn) -> Appointment:  # fmt: skip
    await require_link(request, db, clinician, patient_id, "notify", "appointment.schedule")
    now = utcnow()
    if data.starts_at <= now:
        raise invalid([FieldError("starts_at", "must be in the future")])
    if data.starts_at > now + dt.timedelta(days=731):
        raise invalid([FieldError("starts_at", "must be within two years")])
    errors = []
    for name, value, one_line in (("place", data.place, True), ("note", data.note, False)):
        if value and (reason := text_problem(value, one_line=one_line)):  # the patterns let direction overrides by
            errors.append(FieldError(name, reason))
    if errors:
        raise invalid(errors)
    row = Appointment(patient_id=patient_id, clinician_id=clinician.user_id, starts_at=data.starts_at,
                      minutes=data.minutes, place=data.place, note=data.note, created_at=now)  # fmt: skip
    db.add(row)  # require_link has recorded the access in the audit log
    await db.commit()
    await services.plan_patient(db, patient_id, now)
    return row


@post("/api/v1/patients/{patient_id:uuid}/appointments", tags=["clinician workspace"], status_code=201,
      summary="Schedule a follow-up; it becomes the patient's reminders", dependencies=CLINICIAN)  # fmt: skip
async def schedule_appointment(request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal,
                               patient_id: uuid.UUID, data: AppointmentIn) -> Response[AppointmentOut]:  # fmt: skip
    row = await schedule(request, db, clinician, patient_id, data)
    return Response(_appointment_out(row), status_code=201, headers=NO_STORE)


@get("/api/v1/patients/{patient_id:uuid}/appointments", tags=["clinician workspace"],
     summary="A linked patient's follow-ups", dependencies=CLINICIAN)  # fmt: skip
async def patient_appointments(request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal,
                               patient_id: uuid.UUID) -> Response[list[AppointmentOut]]:  # fmt: skip
    await require_link(request, db, clinician, patient_id, "view", "appointment.read")
    rows = (await db.execute(select(Appointment).where(Appointment.patient_id == patient_id)
                             .order_by(Appointment.starts_at))).scalars()  # fmt: skip
    return Response([_appointment_out(a) for a in rows], headers=NO_STORE)


@delete("/api/v1/patients/{patient_id:uuid}/appointments/{appointment_id:uuid}", tags=["clinician workspace"],
        status_code=204, summary="Cancel a follow-up (its reminders are cancelled)", dependencies=CLINICIAN)  # fmt: skip
async def cancel_appointment(request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal,
                             patient_id: uuid.UUID, appointment_id: uuid.UUID) -> Response[None]:  # fmt: skip
    await require_link(request, db, clinician, patient_id, "notify", "appointment.cancel")
    row = await db.get(Appointment, (patient_id, appointment_id))
    if row is None:
        raise not_found("appointment")
    row.cancelled_at = row.cancelled_at or utcnow()
    await db.commit()
    await services.plan_patient(db, patient_id, utcnow())
    return Response(None, status_code=204, headers=NO_STORE)


@get("/api/v1/appointments", tags=["reminders"], summary="My follow-up appointments", dependencies=PATIENT)
async def my_appointments(db: AsyncSession, patient: Principal) -> Response[list[AppointmentOut]]:
    rows = (await db.execute(select(Appointment).where(Appointment.patient_id == patient.user_id)
                             .order_by(Appointment.starts_at))).scalars()  # fmt: skip
    return Response([_appointment_out(a) for a in rows], headers=NO_STORE)


# ---- pages -----------------------------------------------------------------------------------------------------------


async def _reminders_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal,
                          *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    from backend.shared.rendering import page

    profile = await db.get(PatientProfile, me.user_id)
    language = profile.language if profile else "en"
    zone = zone_of(profile)
    now = utcnow()
    box = await inbox(db, me.user_id, now)
    appointments = [a for a in (await db.execute(select(Appointment).where(
        Appointment.patient_id == me.user_id, Appointment.cancelled_at.is_(None), Appointment.starts_at > now)
        .order_by(Appointment.starts_at))).scalars()]  # fmt: skip

    def local(moment: dt.datetime) -> str:
        return moment.astimezone(zone).strftime("%d/%m %H:%M")

    return page(request, settings, "patient/reminders.html", status=status, language=language, me=me, box=box,
                local=local, prefs=await _preferences_out(db, me.user_id), appointments=appointments,
                smtp=bool(settings.smtp_host), vapid=(await delivery.vapid_keys(db)).public, **extra)  # fmt: skip


@get("/reminders", include_in_schema=False, dependencies=PATIENT)
async def reminders_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                         patient: Principal) -> Template:  # fmt: skip
    return await _reminders_page(request, db, settings, patient)


@post("/reminders/{reminder_id:uuid}/{action:str}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def reminder_action_form(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal,
                               reminder_id: uuid.UUID, action: str) -> Response[Any]:  # fmt: skip
    if action == "done":
        await acknowledge.fn(db, patient, reminder_id)
    elif action == "snooze":
        form = await request.form()
        raw = str(form.get("minutes") or "60")
        await snooze.fn(
            db, patient, reminder_id, ReminderSnoozeIn(minutes=int(raw) if raw in {"15", "60", "180"} else 60)
        )
    else:
        raise Problem(404, "Nothing lives at this address.", code="not-found")
    return Redirect("/reminders", status_code=303)


@post("/reminders/preferences", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def preferences_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                           patient: Principal) -> Template:  # fmt: skip
    form = await request.form()

    def clock(name: str) -> str | None:
        value = str(form.get(name) or "").strip()[:5]
        return value or None

    try:
        data = msgspec.convert({"daily_log_at": clock("daily_log_at"), "quiet_start": clock("quiet_start"),
                                "quiet_end": clock("quiet_end"), "medicines": bool(form.get("medicines")),
                                "email": bool(form.get("email"))}, PreferencesIn)  # fmt: skip
        await save_preferences(db, patient, data)
    except msgspec.ValidationError:
        return await _reminders_page(request, db, settings, patient, status=422, errors=["HH:MM"])
    except Problem as problem:
        await db.rollback()
        return await _reminders_page(request, db, settings, patient, status=problem.status_code,
                                     errors=[f"{e.field}: {e.reason}" for e in problem.errors])  # fmt: skip
    return await _reminders_page(request, db, settings, patient, saved=True)


@post("/reminders/calendar", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def calendar_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                        patient: Principal) -> Template:  # fmt: skip
    form = await request.form()
    if form.get("action") == "end":
        await db.execute(sql_delete(CalendarFeed).where(CalendarFeed.patient_id == patient.user_id))
        await db.commit()
        return await _reminders_page(request, db, settings, patient, feed_ended=True)
    return await _reminders_page(request, db, settings, patient, feed_url=await new_feed(db, settings, patient))


@post("/patients/{patient_id:uuid}/appointments", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def appointment_form(request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal,
                           patient_id: uuid.UUID) -> Response[Any]:  # fmt: skip
    """The report page's form: a local date and time in the patient's own time zone."""
    form = await request.form()
    profile = await db.get(PatientProfile, patient_id)
    zone = zone_of(profile)
    try:
        local = dt.datetime.fromisoformat(str(form.get("starts_at") or ""))
    except ValueError as exc:
        raise invalid([FieldError("starts_at", "must be a date and time such as 2026-12-01T10:30")]) from exc
    starts = local.replace(tzinfo=zone) if local.tzinfo is None else local
    place = str(form.get("place") or "").strip()[:200] or None
    try:
        data = msgspec.convert({"starts_at": starts, "place": place}, AppointmentIn)
    except msgspec.ValidationError as exc:
        raise invalid([FieldError("place", "must be one line of plain text")]) from exc
    await schedule(request, db, clinician, patient_id, data)
    return Redirect(f"/patients/{patient_id}/report?scheduled=1", status_code=303)


REMINDER_ROUTES: list[Any] = [
    list_reminders, acknowledge, snooze, get_preferences, put_preferences, push_key, subscribe, unsubscribe,
    make_feed, end_feed, calendar_feed, schedule_appointment, patient_appointments, cancel_appointment,
    my_appointments, reminders_page, reminder_action_form, preferences_form, calendar_form, appointment_form,
]  # fmt: skip
