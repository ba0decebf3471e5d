"""Reminders through the API and the pages: preferences, follow-ups a clinician schedules (notify scope), the inbox
(acknowledge, snooze), the daily nudge skipped on days already logged, medicine times, erasure, and the HTML forms.

The dispatcher's loop is off in tests (reminder_seconds=0): a test runs one round itself at the moment it chooses.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from sqlalchemy import select

from backend.reminders.models import (
    Appointment,
    CalendarFeed,
    DeliveryAttempt,
    PushSubscription,
    Reminder,
    ReminderPreferences,
)
from backend.shared.audit import AuditEvent
from tests.conftest import Api
from tests.support.pages import page, submit

MADRID = ZoneInfo("Europe/Madrid")  # the time zone Api.register gives every test person
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def pid(api: Api) -> uuid.UUID:
    assert api.user is not None
    return uuid.UUID(api.user["id"])


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def dispatch(app: Litestar, at: dt.datetime) -> int:
    """One dispatcher round as if the clock said `at`: plan everyone, then deliver what is due."""
    dispatcher = app.state.dispatcher
    dispatcher.planned_at = None  # plan in this round whatever an earlier test's round left behind
    try:
        return int(await dispatcher.run_once(at))
    finally:
        dispatcher.planned_at = None


async def reminders_of(app: Litestar, patient: Api) -> list[Reminder]:
    async with app.state.sessionmaker() as db:
        rows = (await db.execute(select(Reminder).where(Reminder.patient_id == pid(patient)))).scalars()
        return sorted(rows, key=lambda r: (r.due_at, r.key))


async def by_key(app: Litestar, patient: Api) -> dict[str, Reminder]:
    return {r.key: r for r in await reminders_of(app, patient)}


async def inbox(patient: Api) -> dict[str, list[dict[str, Any]]]:
    response = await patient.get("/api/v1/reminders")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, list[dict[str, Any]]] = response.json()
    return body


async def link(patient: Api, clinician: Api, scopes: list[str]) -> None:
    code = (await patient.post("/api/v1/care-links/invitations", json={"scopes": scopes})).json()["code"]
    linked = await clinician.post("/api/v1/care-links/redeem", json={"code": code})
    assert linked.status_code == 201, linked.text


async def schedule(clinician: Api, patient: Api, starts: dt.datetime, **fields: Any) -> dict[str, Any]:
    made = await clinician.post(
        f"/api/v1/patients/{pid(patient)}/appointments", json={"starts_at": starts.isoformat(), **fields}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def assert_problem(response: Any, status: int | tuple[int, ...], field: str) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    assert field in [e["field"] for e in body["errors"]], body


# ---- preferences -----------------------------------------------------------------------------------------------------

DEFAULTS = {"daily_log_at": None, "medicines": True, "quiet_start": None, "quiet_end": None, "email": False}


async def test_preferences_round_trip(patient: Api, other_patient: Api) -> None:
    first = await patient.get("/api/v1/reminders/preferences")
    assert first.status_code == 200 and first.json() == DEFAULTS
    chosen = {"daily_log_at": "20:30", "medicines": False, "quiet_start": "22:00", "quiet_end": "07:00", "email": False}
    saved = await patient.put("/api/v1/reminders/preferences", json=chosen)
    assert saved.status_code == 200, saved.text
    assert saved.json() == chosen
    assert (await patient.get("/api/v1/reminders/preferences")).json() == chosen
    assert (await other_patient.get("/api/v1/reminders/preferences")).json() == DEFAULTS
    # a PUT says everything: what it leaves out goes back to the default
    again = await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": "08:05"})
    assert again.json() == {**DEFAULTS, "daily_log_at": "08:05"}


async def test_preferences_are_validated(patient: Api) -> None:
    kept = {**DEFAULTS, "daily_log_at": "09:00"}
    assert (await patient.put("/api/v1/reminders/preferences", json=kept)).status_code == 200
    assert_problem(
        await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": "25:00"}), (400, 422), "daily_log_at"
    )
    assert_problem(
        await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": "8:00"}), (400, 422), "daily_log_at"
    )
    assert_problem(
        await patient.put("/api/v1/reminders/preferences", json={"quiet_end": "24:00"}), (400, 422), "quiet_end"
    )
    half = await patient.put("/api/v1/reminders/preferences", json={"quiet_start": "22:00"})
    assert_problem(half, 422, "quiet_end")
    assert_problem(await patient.put("/api/v1/reminders/preferences", json={"quiet_end": "07:00"}), 422, "quiet_end")
    unknown = await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": "09:00", "colour": "red"})
    assert_problem(unknown, 400, "colour")
    assert_problem(await patient.put("/api/v1/reminders/preferences", json={"medicines": "yes"}), 400, "medicines")
    assert (await patient.get("/api/v1/reminders/preferences")).json() == kept, "nothing was saved"


async def test_only_a_signed_in_patient_has_reminders(browser: Any, clinician: Api) -> None:
    stranger: Api = await browser()
    assert (await stranger.get("/api/v1/reminders")).status_code == 401
    assert (await stranger.get("/api/v1/reminders/preferences")).status_code == 401
    assert (await clinician.get("/api/v1/reminders")).status_code == 403


# ---- follow-up appointments ------------------------------------------------------------------------------------------


async def test_a_clinician_with_notify_schedules_a_follow_up(app: Litestar, patient: Api, clinician: Api) -> None:
    await link(patient, clinician, ["view", "notify"])
    starts = minute(now() + 30 * HOUR)
    made = await schedule(clinician, patient, starts, minutes=45, place="Room 4", note="Bring the diary")
    assert when(made["starts_at"]) == starts
    assert (made["minutes"], made["place"], made["note"], made["cancelled"]) == (45, "Room 4", "Bring the diary", False)

    upcoming = (await inbox(patient))["upcoming"]
    two_hours = [r for r in upcoming if r["kind"] == "follow_up" and when(r["due_at"]) == starts - 2 * HOUR]
    assert len(two_hours) == 1, upcoming
    assert two_hours[0]["title"] == "Follow-up in two hours" and two_hours[0]["status"] == "pending"
    assert starts.astimezone(MADRID).strftime("%H:%M") in two_hours[0]["body"]
    assert any(r["kind"] == "follow_up" and when(r["due_at"]) == starts - dt.timedelta(days=1) for r in upcoming)
    assert all(when(r["due_at"]) > now() for r in upcoming)

    mine = (await patient.get("/api/v1/appointments")).json()
    assert [(a["id"], when(a["starts_at"]), a["place"], a["cancelled"]) for a in mine] == [
        (made["id"], starts, "Room 4", False)
    ]
    theirs = await clinician.get(f"/api/v1/patients/{pid(patient)}/appointments")
    assert theirs.status_code == 200 and [a["id"] for a in theirs.json()] == [made["id"]]
    async with app.state.sessionmaker() as db:
        audit = (
            (
                await db.execute(
                    select(AuditEvent).where(
                        AuditEvent.actor_id == pid(clinician), AuditEvent.action == "appointment.schedule"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert audit and {(a.patient_id, a.outcome) for a in audit} == {(pid(patient), "success")}


async def test_scheduling_and_cancelling_are_each_audited_once(app: Litestar, patient: Api, clinician: Api) -> None:
    """Like every other clinician action (flags.acknowledge, ashworth.create...), one request is one audit row, and one
    line in the patient's access history: require_link writes it, and reminders/services.py adds none of its own."""
    await link(patient, clinician, ["view", "notify"])
    made = await schedule(clinician, patient, minute(now() + 30 * HOUR))
    assert (await clinician.delete(f"/api/v1/patients/{pid(patient)}/appointments/{made['id']}")).status_code == 204
    async with app.state.sessionmaker() as db:
        audit = (
            (
                await db.execute(
                    select(AuditEvent).where(
                        AuditEvent.actor_id == pid(clinician), AuditEvent.action.like("appointment.%")
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(a.action for a in audit) == ["appointment.cancel", "appointment.schedule"], [a.action for a in audit]


async def test_without_notify_a_clinician_cannot_schedule(
    app: Litestar, patient: Api, clinician: Api, browser: Any
) -> None:
    await link(patient, clinician, ["view", "annotate", "export"])
    url = f"/api/v1/patients/{pid(patient)}/appointments"
    refused = await clinician.post(url, json={"starts_at": (now() + 30 * HOUR).isoformat()})
    assert refused.status_code == 404, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    stranger: Api = await browser()
    await stranger.register("clinician")
    assert (await stranger.post(url, json={"starts_at": (now() + 30 * HOUR).isoformat()})).status_code == 404
    assert (await patient.post(url, json={"starts_at": (now() + 30 * HOUR).isoformat()})).status_code == 403

    async with app.state.sessionmaker() as db:
        audit = (
            (
                await db.execute(
                    select(AuditEvent).where(
                        AuditEvent.actor_id == pid(clinician), AuditEvent.action == "appointment.schedule"
                    )
                )
            )
            .scalars()
            .all()
        )
        made = (await db.execute(select(Appointment).where(Appointment.patient_id == pid(patient)))).scalars().all()
    assert [(a.outcome, a.patient_id, a.entity) for a in audit] == [("denied", None, f"patient:{pid(patient)}")]
    assert made == []
    assert (await patient.get("/api/v1/appointments")).json() == []
    assert [r for r in await reminders_of(app, patient) if r.kind == "follow_up"] == []


async def test_a_follow_up_must_be_in_the_future(patient: Api, clinician: Api) -> None:
    await link(patient, clinician, ["view", "notify"])
    url = f"/api/v1/patients/{pid(patient)}/appointments"
    assert_problem(await clinician.post(url, json={"starts_at": (now() - HOUR).isoformat()}), 422, "starts_at")
    too_far = await clinician.post(url, json={"starts_at": (now() + dt.timedelta(days=800)).isoformat()})
    assert_problem(too_far, 422, "starts_at")
    naive = await clinician.post(url, json={"starts_at": "2030-01-01T10:00:00"})
    assert_problem(naive, 400, "starts_at")
    assert_problem(
        await clinician.post(url, json={"starts_at": (now() + 30 * HOUR).isoformat(), "minutes": 1}), 400, "minutes"
    )
    assert (await patient.get("/api/v1/appointments")).json() == []


async def test_cancelling_a_follow_up_cancels_its_reminders(
    app: Litestar, patient: Api, clinician: Api, other_patient: Api
) -> None:
    await link(patient, clinician, ["view", "notify"])
    starts = minute(now() + 30 * HOUR)
    made = await schedule(clinician, patient, starts)
    pending = [r for r in await reminders_of(app, patient) if r.subject_id == made["id"]]
    assert sorted(r.key.rsplit(":", 1)[1] for r in pending) == ["day-before", "two-hours"]
    assert {r.status for r in pending} == {"pending"}

    url = f"/api/v1/patients/{pid(patient)}/appointments/{made['id']}"
    assert (await other_patient.delete(url)).status_code == 403
    assert (await clinician.delete(f"/api/v1/patients/{pid(patient)}/appointments/{uuid.uuid4()}")).status_code == 404
    assert (await clinician.delete(url)).status_code == 204
    rows = [r for r in await reminders_of(app, patient) if r.subject_id == made["id"]]
    assert {r.status for r in rows} == {"cancelled"}
    box = await inbox(patient)
    assert [r for r in box["due"] + box["upcoming"] if r["kind"] == "follow_up"] == []
    assert (await patient.get("/api/v1/appointments")).json()[0]["cancelled"] is True
    assert (await clinician.delete(url)).status_code == 204  # again: still cancelled
    # and a round of the dispatcher when they would have been due delivers nothing
    await dispatch(app, starts - 2 * HOUR + MINUTE)
    assert {r.status for r in await reminders_of(app, patient) if r.subject_id == made["id"]} == {"cancelled"}


async def test_cancelling_a_follow_up_also_cancels_a_reminder_due_but_not_yet_sent(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    """A follow-up in 90 minutes: its two-hours reminder is due already (30 minutes ago) and waits for the dispatcher.
    Cancelling the appointment must cancel it too; services.plan_patient only cancels pending reminders due later than
    now, so the patient is still told about an appointment that no longer exists."""
    await link(patient, clinician, ["view", "notify"])
    made = await schedule(clinician, patient, minute(now() + 90 * MINUTE))
    rows = await by_key(app, patient)
    key = f"appointment:{made['id']}:two-hours"
    assert rows[key].status == "pending" and rows[key].due_at < now()
    assert (await clinician.delete(f"/api/v1/patients/{pid(patient)}/appointments/{made['id']}")).status_code == 204
    await dispatch(app, now())
    assert (await by_key(app, patient))[key].status == "cancelled"
    box = await inbox(patient)
    assert [r for r in box["due"] + box["upcoming"] if r["kind"] == "follow_up"] == []


# ---- the inbox -------------------------------------------------------------------------------------------------------


async def due_follow_up(app: Litestar, patient: Api, clinician: Api) -> dict[str, Any]:
    """A follow-up in 90 minutes: its two-hours reminder is due (30 minutes ago); one dispatcher round sends it."""
    await link(patient, clinician, ["view", "notify"])
    made = await schedule(clinician, patient, minute(now() + 90 * MINUTE))
    await dispatch(app, now() + MINUTE)
    due = [r for r in (await inbox(patient))["due"] if r["kind"] == "follow_up"]
    assert len(due) == 1, due
    assert due[0]["status"] == "sent" and due[0]["acknowledged"] is False
    assert due[0]["title"] == "Follow-up in two hours"
    assert when(due[0]["due_at"]) == when(made["starts_at"]) - 2 * HOUR
    return due[0]


async def test_a_due_reminder_is_in_the_inbox_until_acknowledged(
    app: Litestar, patient: Api, clinician: Api, other_patient: Api
) -> None:
    item = await due_follow_up(app, patient, clinician)
    async with app.state.sessionmaker() as db:
        attempts = (
            (await db.execute(select(DeliveryAttempt).where(DeliveryAttempt.patient_id == pid(patient))))
            .scalars()
            .all()
        )
    assert [(a.channel, a.outcome, str(a.reminder_id)) for a in attempts] == [("inbox", "delivered", item["id"])]

    url = f"/api/v1/reminders/{item['id']}"
    assert (await other_patient.post(f"{url}/acknowledge")).status_code == 404
    assert (await other_patient.post(f"{url}/snooze", json={"minutes": 30})).status_code == 404
    assert (await patient.post(f"/api/v1/reminders/{uuid.uuid4()}/acknowledge")).status_code == 404

    done = await patient.post(f"{url}/acknowledge")
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged"] is True and done.json()["status"] == "sent"
    assert (await patient.post(f"{url}/acknowledge")).status_code == 200  # again: no change
    listed = [r for r in (await inbox(patient))["due"] if r["id"] == item["id"]]
    assert len(listed) == 1 and listed[0]["acknowledged"] is True
    row = await by_key(app, patient)
    assert [r.acknowledged_at is not None for r in row.values() if str(r.id) == item["id"]] == [True]


async def test_snoozing_brings_a_reminder_back_later(app: Litestar, patient: Api, clinician: Api) -> None:
    item = await due_follow_up(app, patient, clinician)
    url = f"/api/v1/reminders/{item['id']}/snooze"
    for minutes in (4, 0, -5, 24 * 60 + 1):
        assert_problem(await patient.post(url, json={"minutes": minutes}), (400, 422), "minutes")
    assert_problem(await patient.post(url, json={"minutes": "30"}), 400, "minutes")
    assert_problem(await patient.post(url, json={"minutes": 30, "until": "tomorrow"}), 400, "until")
    assert_problem(await patient.post(url, json={}), 400, "minutes")

    before = now()
    snoozed = await patient.post(url, json={"minutes": 30})
    assert snoozed.status_code == 200, snoozed.text
    body = snoozed.json()
    assert body["status"] == "pending" and body["acknowledged"] is False
    assert before + 30 * MINUTE <= when(body["due_at"]) <= now() + 30 * MINUTE
    box = await inbox(patient)
    assert item["id"] not in [r["id"] for r in box["due"]]
    assert [r["status"] for r in box["upcoming"] if r["id"] == item["id"]] == ["pending"]

    await dispatch(app, when(body["due_at"]) - MINUTE)
    assert [r.status for r in await reminders_of(app, patient) if str(r.id) == item["id"]] == ["pending"]
    await dispatch(app, when(body["due_at"]) + MINUTE)
    again = [r for r in await reminders_of(app, patient) if str(r.id) == item["id"]]
    assert [(r.status, r.attempts) for r in again] == [("sent", 1)]


async def test_a_snoozed_reminder_survives_the_planning_rounds_in_between(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    """ "In an hour" (the page's snooze button): the dispatcher plans every 10 minutes meanwhile. Once the reminder's
    own reason has left the plan (a follow-up reminder more than an hour old, a daily nudge whose time has passed),
    services.plan_patient finds a pending reminder it no longer wants and cancels it: the snoozed reminder never
    comes back."""
    item = await due_follow_up(app, patient, clinician)
    snoozed = (await patient.post(f"/api/v1/reminders/{item['id']}/snooze", json={"minutes": 60})).json()
    back = when(snoozed["due_at"])
    for minutes in (10, 20, 30, 40, 50):  # the dispatcher's planning rounds while the patient waits
        await dispatch(app, now() + minutes * MINUTE)
    statuses = [r.status for r in await reminders_of(app, patient) if str(r.id) == item["id"]]
    assert statuses == ["pending"], "the snoozed reminder was cancelled while it waited"
    await dispatch(app, back + MINUTE)
    assert [r.status for r in await reminders_of(app, patient) if str(r.id) == item["id"]] == ["sent"]


async def test_a_nudge_moved_by_quiet_hours_is_still_delivered(app: Litestar, patient: Api) -> None:
    """A daily nudge at 23:30 with quiet hours 22:00-07:00 waits until 07:00. The planning round after 23:30 no longer
    names it (planner.plan only plans daily times from now on), so services.plan_patient cancels it."""
    prefs = {"daily_log_at": "23:30", "quiet_start": "22:00", "quiet_end": "07:00"}
    assert (await patient.put("/api/v1/reminders/preferences", json=prefs)).status_code == 200
    daily = sorted((r for r in await reminders_of(app, patient) if r.kind == "daily_log"), key=lambda r: r.due_at)
    first = daily[0]
    day = dt.date.fromisoformat(first.key.split(":", 1)[1])
    wall = dt.datetime.combine(day, dt.time(23, 30), MADRID)
    assert first.due_at == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7, 0), MADRID)
    await dispatch(app, wall + 10 * MINUTE)  # a planning round at 23:40 local
    assert (await by_key(app, patient))[first.key].status == "pending", "cancelled while waiting for quiet hours"
    await dispatch(app, first.due_at + MINUTE)
    assert (await by_key(app, patient))[first.key].status == "sent"


# ---- the daily nudge -------------------------------------------------------------------------------------------------


def daytime_zone() -> ZoneInfo:
    """A zone where it is daytime now, so that a nudge 20 minutes from now is on today's local date."""
    for name in ("Europe/Madrid", "Asia/Tokyo", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"):
        local = dt.datetime.now(ZoneInfo(name))
        if 1 <= local.hour <= 21:
            return ZoneInfo(name)
    raise AssertionError("no daytime zone")


async def test_the_daily_nudge_is_skipped_on_a_day_already_logged(app: Litestar, browser: Any) -> None:
    zone = daytime_zone()
    people: dict[str, Api] = {}
    for name in ("checked-in", "logged-an-episode", "nothing"):
        people[name] = await browser()
        await people[name].register("patient", time_zone=zone.key)
    nudge_at = minute(dt.datetime.now(zone) + 20 * MINUTE)
    today = nudge_at.date()
    for api in people.values():
        saved = await api.put("/api/v1/reminders/preferences", json={"daily_log_at": nudge_at.strftime("%H:%M")})
        assert saved.status_code == 200, saved.text
    checkin = await people["checked-in"].put(f"/api/v1/checkins/{today.isoformat()}", json={"no_episodes": True})
    assert checkin.status_code == 201, checkin.text
    episode = await people["logged-an-episode"].put(
        f"/api/v1/episodes/{uuid.uuid4()}",
        json={
            "kind": "cramp",
            "started_at": now().isoformat(),
            "intensity": 4,
            "body_sites": [{"site": "calf", "side": "left"}],
        },
    )
    assert episode.status_code == 201, episode.text
    await app.state.evaluator.drain()

    key = f"daily:{today.isoformat()}"
    for api in people.values():
        planned = (await by_key(app, api))[key]
        assert planned.status == "pending" and planned.due_at == nudge_at, planned
    await dispatch(app, nudge_at + MINUTE)

    for name, api in people.items():
        row = (await by_key(app, api))[key]
        box = await inbox(api)
        listed = [r for r in box["due"] + box["upcoming"] if r["id"] == str(row.id)]
        if name == "nothing":
            assert row.status == "sent", name
            assert [r["status"] for r in listed] == ["sent"]
        else:
            assert row.status == "skipped", name
            assert listed == [], name
            assert (await api.post(f"/api/v1/reminders/{row.id}/acknowledge")).status_code == 404


# ---- medicine times --------------------------------------------------------------------------------------------------


async def test_medicine_times_written_with_a_regimen_become_reminders(app: Litestar, patient: Api) -> None:
    today = dt.datetime.now(MADRID).date()
    regimen_id = uuid.uuid4()
    before = now()
    written = await patient.put(
        f"/api/v1/regimens/{regimen_id}",
        json={
            "kind": "muscle_relaxant",
            "name": "Baclofen",
            "dose": "10 mg",
            "times": ["08:00", "20:00"],
            "start_date": (today - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert written.status_code == 201, written.text
    await app.state.evaluator.drain()
    after = now()

    medicines = [r for r in (await inbox(patient))["upcoming"] if r["kind"] == "medicine"]
    expected = sorted(
        dt.datetime.combine(today + dt.timedelta(days=d), t, MADRID).astimezone(dt.UTC)
        for d in range(3)
        for t in (dt.time(8), dt.time(20))
    )
    must = [e for e in expected if after < e < before + 48 * HOUR]
    may = [e for e in expected if before <= e < after + 48 * HOUR]
    got = sorted(when(r["due_at"]) for r in medicines)
    assert set(must) <= set(got) <= set(may), (got, must)
    # The reminder names the medicine, its dose and its time (it said only "Medicine time" before).
    assert {r["title"] for r in medicines} <= {"Baclofen 10 mg at 08:00", "Baclofen 10 mg at 20:00"}, medicines
    assert all("Baclofen 10 mg" in r["body"] for r in medicines)
    rows = [r for r in await reminders_of(app, patient) if r.kind == "medicine"]
    assert {r.subject_id for r in rows} == {str(regimen_id)}

    # turning medicine reminders off cancels the ones planned
    off = await patient.put("/api/v1/reminders/preferences", json={"medicines": False})
    assert off.status_code == 200
    assert [r for r in (await inbox(patient))["upcoming"] if r["kind"] == "medicine"] == []
    assert {r.status for r in await reminders_of(app, patient) if r.kind == "medicine"} == {"cancelled"}


async def test_a_stopped_treatment_stops_its_medicine_reminders(app: Litestar, patient: Api) -> None:
    today = dt.datetime.now(MADRID).date()
    regimen_id = uuid.uuid4()
    body = {
        "kind": "antispasmodic",
        "name": "Tizanidine",
        "times": ["09:00", "21:00"],
        "start_date": (today - dt.timedelta(days=3)).isoformat(),
    }
    assert (await patient.put(f"/api/v1/regimens/{regimen_id}", json=body)).status_code == 201
    await app.state.evaluator.drain()
    assert [r for r in (await inbox(patient))["upcoming"] if r["kind"] == "medicine"]
    stopped = await patient.put(
        f"/api/v1/regimens/{regimen_id}", json={**body, "stop_date": today.isoformat()}, headers={"if-match": '"1"'}
    )
    assert stopped.status_code == 200, stopped.text
    await app.state.evaluator.drain()
    assert [r for r in (await inbox(patient))["upcoming"] if r["kind"] == "medicine"] == []


# ---- erasure ---------------------------------------------------------------------------------------------------------


async def test_erasing_the_account_deletes_reminders_and_everything_around_them(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    await due_follow_up(app, patient, clinician)  # a sent reminder, its delivery attempt
    await schedule(clinician, patient, minute(now() + 30 * HOUR), place="Room 4")
    assert (await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": "20:00"})).status_code == 200
    subscribed = await patient.post(
        "/api/v1/push/subscriptions",
        json={
            "endpoint": f"https://push.invalid/send/{uuid.uuid4().hex}",
            "keys": {"p256dh": "B" + "A" * 86, "auth": "c2VjcmV0LWF1dGg"},
        },
    )
    assert subscribed.status_code == 201, subscribed.text
    feed = (await patient.post("/api/v1/calendar-feed")).json()["url"]
    path = feed.removeprefix("http://testserver.local")
    assert (await patient.client.get(path)).status_code == 200

    tables = (Reminder, Appointment, PushSubscription, CalendarFeed, ReminderPreferences, DeliveryAttempt)

    async def counts() -> dict[str, int]:
        found = {}
        async with app.state.sessionmaker() as db:
            for table in tables:
                rows = (await db.execute(select(table).where(table.patient_id == pid(patient)))).scalars().all()
                found[table.__tablename__] = len(rows)
        return found

    assert all(n > 0 for n in (await counts()).values()), await counts()
    erased = await patient.delete(
        "/api/v1/account",
        json={
            "password": patient.user["password"],  # type: ignore[index]
            "confirm": "erase my account",
        },
    )
    assert erased.status_code == 204, erased.text
    assert await counts() == {table.__tablename__: 0 for table in tables}
    assert (await patient.client.get(path)).status_code == 404


# ---- the pages -------------------------------------------------------------------------------------------------------


async def test_the_reminders_page_lists_the_inbox_and_its_forms_work(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    item = await due_follow_up(app, patient, clinician)
    shown = await page(patient, "/reminders")
    assert shown.status_code == 200, shown.text
    assert "<h1>Reminders</h1>" in shown.text
    assert "Follow-up in two hours" in shown.text
    assert f'action="/reminders/{item["id"]}/done"' in shown.text
    assert f'action="/reminders/{item["id"]}/snooze"' in shown.text
    assert "Follow-up appointment" in shown.text  # the appointment itself, under "Coming up"

    done = await submit(patient, f"/reminders/{item['id']}/done", {})
    assert done.status_code == 303 and done.headers["location"] == "/reminders"
    row = next(r for r in await reminders_of(app, patient) if str(r.id) == item["id"])
    assert row.acknowledged_at is not None
    assert f'action="/reminders/{item["id"]}/done"' not in (await page(patient, "/reminders")).text

    before = now()
    snoozed = await submit(patient, f"/reminders/{item['id']}/snooze", {"minutes": "15"})
    assert snoozed.status_code == 303 and snoozed.headers["location"] == "/reminders"
    row = next(r for r in await reminders_of(app, patient) if str(r.id) == item["id"])
    assert row.status == "pending" and row.acknowledged_at is None
    assert before + 15 * MINUTE <= row.due_at <= now() + 15 * MINUTE

    assert (await submit(patient, f"/reminders/{item['id']}/done", {}, csrf="not-the-token")).status_code == 403
    assert (await submit(patient, f"/reminders/{item['id']}/explode", {})).status_code == 404
    assert (await submit(patient, f"/reminders/{uuid.uuid4()}/done", {})).status_code == 404


async def test_the_preferences_form_refuses_a_bad_time(patient: Api) -> None:
    bad = await submit(patient, "/reminders/preferences", {"daily_log_at": "25:00", "medicines": "yes"})
    assert bad.status_code == 422, bad.text
    assert 'role="alert"' in bad.text and "HH:MM" in bad.text
    half = await submit(patient, "/reminders/preferences", {"quiet_start": "22:00", "medicines": "yes"})
    assert half.status_code == 422 and 'role="alert"' in half.text and "quiet_end" in half.text
    assert (await patient.get("/api/v1/reminders/preferences")).json() == DEFAULTS, "nothing was saved"

    good = await submit(
        patient, "/reminders/preferences", {"daily_log_at": "19:45", "quiet_start": "22:00", "quiet_end": "07:30"}
    )
    assert good.status_code == 200 and "Saved." in good.text
    assert (await patient.get("/api/v1/reminders/preferences")).json() == {
        "daily_log_at": "19:45",
        "medicines": False,
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "email": False,
    }
    assert 'value="19:45"' in good.text


async def test_the_report_offers_the_follow_up_form_only_with_notify(browser: Any, patient: Api) -> None:
    viewer: Api = await browser()
    await viewer.register("clinician")
    await link(patient, viewer, ["view"])
    form = f'action="/patients/{pid(patient)}/appointments"'
    report = await page(viewer, f"/patients/{pid(patient)}/report")
    assert report.status_code == 200, report.text
    assert form not in report.text
    assert "has not allowed reminders from you" in report.text
    refused = await submit(viewer, f"/patients/{pid(patient)}/appointments", {"starts_at": "2030-01-10T10:30"})
    assert refused.status_code == 404
    assert (await patient.get("/api/v1/appointments")).json() == []

    notifier: Api = await browser()
    await notifier.register("clinician")
    await link(patient, notifier, ["view", "notify"])
    report = await page(notifier, f"/patients/{pid(patient)}/report")
    assert report.status_code == 200 and form in report.text
    assert "Europe/Madrid" in report.text and "No follow-up scheduled." in report.text


async def test_the_report_form_schedules_in_the_patients_time_zone(browser: Any, patient: Api) -> None:
    clinician: Api = await browser()
    await clinician.register("clinician", time_zone="America/New_York")  # the clinician's own zone plays no part
    await link(patient, clinician, ["view", "notify"])
    year = now().year if now() < dt.datetime(now().year, 12, 10, 9, 30, tzinfo=dt.UTC) else now().year + 1
    made = await submit(
        clinician,
        f"/patients/{pid(patient)}/appointments",
        {"starts_at": f"{year}-12-10T10:30", "place": "  Clinic 2  "},
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/patients/{pid(patient)}/report?scheduled=1"
    mine = (await patient.get("/api/v1/appointments")).json()
    assert len(mine) == 1
    assert when(mine[0]["starts_at"]) == dt.datetime(year, 12, 10, 9, 30, tzinfo=dt.UTC)  # 10:30 CET
    assert mine[0]["place"] == "Clinic 2" and mine[0]["minutes"] == 30
    report = await page(clinician, f"/patients/{pid(patient)}/report?scheduled=1")
    assert "Scheduled." in report.text and f"10 Dec {year}, 10:30 CET" in report.text  # the patient's clock

    summer = await submit(clinician, f"/patients/{pid(patient)}/appointments", {"starts_at": f"{year + 1}-07-01T10:30"})
    assert summer.status_code == 303
    starts = sorted(when(a["starts_at"]) for a in (await patient.get("/api/v1/appointments")).json())
    assert starts[-1] == dt.datetime(year + 1, 7, 1, 8, 30, tzinfo=dt.UTC)  # 10:30 CEST
    bad = await submit(clinician, f"/patients/{pid(patient)}/appointments", {"starts_at": "next tuesday"})
    assert bad.status_code in (400, 422)
    past = await submit(clinician, f"/patients/{pid(patient)}/appointments", {"starts_at": "2020-01-01T10:00"})
    assert past.status_code == 422
    assert len((await patient.get("/api/v1/appointments")).json()) == 2


def test_the_page_template_names_every_form_it_posts() -> None:
    """Every form on the reminders page posts to a route that exists (a typo would give the patient a 404)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "pwa" / "templates" / "patient" / "reminders.html").read_text()
    actions = set(re.findall(r'action="([^"]+)"', text))
    assert actions == {
        "/reminders/{{ r.id }}/done",
        "/reminders/{{ r.id }}/snooze",
        "/reminders/{{ r.id }}/{{ answer }}",  # taken, skipped, later (reminder_action_form's DOSE_ANSWERS)
        "/reminders/preferences",
        "/reminders/calendar",
    }
