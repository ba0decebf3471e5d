"""Reminders over JSON: the inbox, preferences, Web Push subscriptions, the calendar address and its feed, and the
follow-up appointments a clinician schedules. Thin: each route calls one service."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary.dependencies import TheWrites
from backend.reminders import delivery, services
from backend.reminders.schemas import (
    AppointmentIn,
    AppointmentOut,
    DoseAnswer,
    EndpointIn,
    FeedOut,
    Inbox,
    PreferencesIn,
    PreferencesOut,
    PushSubscriptionIn,
    ReminderOut,
    ReminderSnoozeIn,
)
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.principal import Principal
from backend.shared.rendering import NO_STORE

PATIENT = {"patient": Provide(provide_patient)}
CLINICIAN = {"clinician": Provide(provide_clinician)}


@get(
    "/api/v1/reminders",
    summary="My reminders: the ones due (the inbox) and the next 48 hours",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def list_reminders(db: AsyncSession, patient: Principal) -> Response[Inbox]:
    return Response(await services.inbox(db, patient.user_id, utcnow()), headers=NO_STORE)


@post(
    "/api/v1/reminders/{reminder_id:uuid}/acknowledge",
    status_code=200,
    summary="Done: mark a reminder as seen",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def acknowledge(db: AsyncSession, patient: Principal, reminder_id: uuid.UUID) -> Response[ReminderOut]:
    return Response(await services.acknowledge(db, patient, reminder_id), headers=NO_STORE)


@post(
    "/api/v1/reminders/{reminder_id:uuid}/snooze",
    status_code=200,
    summary="Remind me again in a while",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def snooze(
    db: AsyncSession, patient: Principal, reminder_id: uuid.UUID, data: ReminderSnoozeIn
) -> Response[ReminderOut]:
    return Response(await services.snooze(db, patient, reminder_id, data.minutes), headers=NO_STORE)


@post(
    "/api/v1/reminders/{reminder_id:uuid}/dose",
    status_code=200,
    summary="Answer a medicine reminder: the dose taken, skipped, or later (recorded per dose)",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def answer_dose(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    writes: TheWrites,
    patient: Principal,
    reminder_id: uuid.UUID,
    data: DoseAnswer,
) -> Response[ReminderOut]:
    answered = await services.answer_dose(db, writes, patient, reminder_id, data, address=client_address(request))
    return Response(answered, headers=NO_STORE)


@get("/api/v1/reminders/preferences", summary="When I want reminders", tags=["reminders"], dependencies=PATIENT)
async def get_preferences(db: AsyncSession, patient: Principal) -> Response[PreferencesOut]:
    return Response(await services.preferences_out(db, patient.user_id), headers=NO_STORE)


@put("/api/v1/reminders/preferences", summary="Set when I want reminders", tags=["reminders"], dependencies=PATIENT)
async def put_preferences(db: AsyncSession, patient: Principal, data: PreferencesIn) -> Response[PreferencesOut]:
    return Response(await services.save_preferences(db, patient, data), headers=NO_STORE)


@get("/api/v1/push/key", tags=["reminders"], summary="The server's VAPID public key (applicationServerKey)")
async def push_key(db: AsyncSession) -> dict[str, str]:
    return {"public_key": (await delivery.vapid_keys(db)).public}


@post(
    "/api/v1/push/subscriptions",
    status_code=201,
    summary="Send reminders to this browser by Web Push",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def subscribe(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, data: PushSubscriptionIn
) -> Response[dict[str, str]]:
    await services.subscribe(db, settings, patient, data, resolver=request.app.state.dispatcher.resolver)
    return Response({"status": "subscribed"}, status_code=201, headers=NO_STORE)


@post(
    "/api/v1/push/subscriptions/remove",
    status_code=204,
    summary="Stop Web Push to this browser",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def unsubscribe(db: AsyncSession, patient: Principal, data: EndpointIn) -> Response[None]:
    await services.unsubscribe(db, patient, data.endpoint)
    return Response(None, status_code=204, headers=NO_STORE)


@post(
    "/api/v1/calendar-feed",
    status_code=201,
    summary="A private calendar address for my appointments and reviews (a new one ends the old)",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def make_feed(db: AsyncSession, settings: Settings, patient: Principal) -> Response[FeedOut]:
    return Response(FeedOut(url=await services.new_feed(db, settings, patient)), status_code=201, headers=NO_STORE)


@delete(
    "/api/v1/calendar-feed",
    status_code=204,
    summary="End my calendar address",
    tags=["reminders"],
    dependencies=PATIENT,
)
async def end_feed(db: AsyncSession, patient: Principal) -> Response[None]:
    await services.end_feed(db, patient)
    return Response(None, status_code=204, headers=NO_STORE)


@get("/calendar/{token:str}", include_in_schema=False)
async def calendar_feed(db: AsyncSession, token: str) -> Response[bytes]:
    """The feed a calendar app polls."""
    body = await services.feed_calendar(db, token)
    return Response(body, media_type="text/calendar", headers=NO_STORE)  # Litestar adds the one charset


@post(
    "/api/v1/patients/{patient_id:uuid}/appointments",
    status_code=201,
    summary="Schedule a follow-up; it becomes the patient's reminders",
    tags=["clinician workspace"],
    dependencies=CLINICIAN,
)
async def schedule_appointment(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, data: AppointmentIn
) -> Response[AppointmentOut]:
    made = await services.schedule(db, clinician, patient_id, data, address=client_address(request))
    return Response(made, status_code=201, headers=NO_STORE)


@get(
    "/api/v1/patients/{patient_id:uuid}/appointments",
    summary="A linked patient's follow-ups",
    tags=["clinician workspace"],
    dependencies=CLINICIAN,
)
async def patient_appointments(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[list[AppointmentOut]]:
    found = await services.patient_appointments(db, clinician, patient_id, address=client_address(request))
    return Response(found, headers=NO_STORE)


@delete(
    "/api/v1/patients/{patient_id:uuid}/appointments/{appointment_id:uuid}",
    status_code=204,
    summary="Cancel a follow-up (its reminders are cancelled)",
    tags=["clinician workspace"],
    dependencies=CLINICIAN,
)
async def cancel_appointment(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    clinician: Principal,
    patient_id: uuid.UUID,
    appointment_id: uuid.UUID,
) -> Response[None]:
    await services.cancel(db, clinician, patient_id, appointment_id, address=client_address(request))
    return Response(None, status_code=204, headers=NO_STORE)


@get("/api/v1/appointments", summary="My follow-up appointments", tags=["reminders"], dependencies=PATIENT)
async def my_appointments(db: AsyncSession, patient: Principal) -> Response[list[AppointmentOut]]:
    return Response(await services.appointments(db, patient.user_id), headers=NO_STORE)


ROUTES: list[Any] = [
    list_reminders,
    acknowledge,
    snooze,
    answer_dose,
    get_preferences,
    put_preferences,
    push_key,
    subscribe,
    unsubscribe,
    make_feed,
    end_feed,
    calendar_feed,
    schedule_appointment,
    patient_appointments,
    cancel_appointment,
    my_appointments,
]
