"""Medicine reminders as doses: each names its medicine, dose and time in the patient's language, and is answered
taken, skipped or later from the inbox (page and API) and from the push notification's actions; the answer is a dose
record (backend/diary/doses.py), which rules R10 and S5 and the report count."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import update

from backend.reminders.dispatcher import Dispatcher
from backend.reminders.models import Reminder
from tests.conftest import Api
from tests.reminders.support import PushReceiver
from tests.reminders.test_api import MADRID, assert_problem, inbox, pid, reminders_of
from tests.reminders.test_web_push import subscribe
from tests.support.pages import page, submit


def soon_time(minutes: int = 40) -> tuple[str, dt.datetime]:
    """A time of day a little ahead on the patient's clock (Madrid), and its instant."""
    moment = (dt.datetime.now(MADRID) + dt.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return moment.strftime("%H:%M"), moment.astimezone(dt.UTC)


async def medicine_reminder(app: Litestar, patient: Api, **fields: Any) -> tuple[str, Reminder]:
    """A regimen taken in 40 minutes; the reminder the evaluator planned for it, made due now (as time passes)."""
    time, _at = soon_time()
    regimen_id = str(uuid.uuid4())
    body = {
        "kind": "muscle_relaxant",
        "name": "Baclofen",
        "dose": "10 mg",
        "times": [time],
        "start_date": (dt.datetime.now(MADRID).date() - dt.timedelta(days=1)).isoformat(),
        **fields,
    }
    assert (await patient.put(f"/api/v1/regimens/{regimen_id}", json=body)).status_code == 201
    await app.state.evaluator.drain()
    row = next(r for r in await reminders_of(app, patient) if r.kind == "medicine" and r.status == "pending")
    async with app.state.sessionmaker() as db:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        await db.execute(update(Reminder).where(Reminder.id == row.id).values(due_at=past, status="sent", sent_at=past))
        await db.commit()
    return regimen_id, row


async def test_a_medicine_reminder_names_the_medicine_and_its_dose(app: Litestar, patient: Api) -> None:
    _regimen, row = await medicine_reminder(app, patient)
    assert row.title == f"Baclofen 10 mg at {row.key[-5:]}"
    [shown] = [r for r in (await inbox(patient))["due"] if r["kind"] == "medicine"]
    assert shown["title"] == row.title and shown["dose"] is None and shown["scheduled_for"] == row.key.split(":", 2)[2]


async def test_spanish_reminders_in_spanish_and_a_language_change_rewrites_waiting_ones(
    app: Litestar, browser: Any
) -> None:
    patient: Api = await browser()
    await patient.register("patient", language="es")
    time, _at = soon_time(90)
    body = {
        "kind": "muscle_relaxant",
        "name": "Baclofeno",
        "dose": "10 mg",
        "times": [time],
        "start_date": "2026-01-01",
    }
    assert (await patient.put(f"/api/v1/regimens/{uuid.uuid4()}", json=body)).status_code == 201
    await app.state.evaluator.drain()
    titles = {r.title for r in await reminders_of(app, patient) if r.kind == "medicine"}
    assert titles == {f"Baclofeno 10 mg a las {time}"}
    bodies = {r.body for r in await reminders_of(app, patient) if r.kind == "medicine"}
    assert bodies == {f"Es la hora de Baclofeno 10 mg, como tienes previsto a las {time}."}
    profile = await patient.get("/api/v1/profile/")
    changed = {**profile.json(), "language": "en"}
    for name in ("version", "updated_at"):
        changed.pop(name)
    answer = await patient.put("/api/v1/profile/", json=changed, headers={"if-match": profile.headers["etag"]})
    assert answer.status_code == 200, answer.text
    await app.state.evaluator.drain()
    waiting = [r for r in await reminders_of(app, patient) if r.kind == "medicine" and r.status == "pending"]
    assert waiting and {r.title for r in waiting} == {f"Baclofeno 10 mg at {time}"}


async def test_taken_from_the_api_records_the_dose_and_finishes_the_reminder(app: Litestar, patient: Api) -> None:
    regimen_id, row = await medicine_reminder(app, patient)
    answered = await patient.post(f"/api/v1/reminders/{row.id}/dose", json={"status": "taken"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["dose"] == "taken" and answered.json()["acknowledged"] is True
    doses = (await patient.get("/api/v1/doses/")).json()
    assert [(d["regimen_id"], d["scheduled_for"], d["status"]) for d in doses] == [
        (regimen_id, row.key.split(":", 2)[2], "taken")
    ]
    again = await patient.post(f"/api/v1/reminders/{row.id}/dose", json={"status": "taken"})
    assert again.status_code == 200 and len((await patient.get("/api/v1/doses/")).json()) == 1


async def test_later_snoozes_the_reminder_and_records_later(app: Litestar, patient: Api) -> None:
    _regimen, row = await medicine_reminder(app, patient)
    before = dt.datetime.now(dt.UTC)
    answered = await patient.post(f"/api/v1/reminders/{row.id}/dose", json={"status": "later", "minutes": 15})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "pending" and answered.json()["dose"] == "later"
    due = dt.datetime.fromisoformat(answered.json()["due_at"])
    assert before + dt.timedelta(minutes=14) < due < before + dt.timedelta(minutes=16)
    assert (await patient.get("/api/v1/doses/")).json()[0]["status"] == "later"


async def test_a_dose_answer_to_another_reminder_is_a_problem(app: Litestar, patient: Api) -> None:
    _regimen, row = await medicine_reminder(app, patient)
    assert_problem(await patient.post(f"/api/v1/reminders/{row.id}/dose", json={"status": "gone"}), 400, "status")
    unknown = await patient.post(f"/api/v1/reminders/{uuid.uuid4()}/dose", json={"status": "taken"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
    async with app.state.sessionmaker() as db:
        await db.execute(update(Reminder).where(Reminder.id == row.id).values(kind="daily_log", key="daily:x"))
        await db.commit()
    assert_problem(await patient.post(f"/api/v1/reminders/{row.id}/dose", json={"status": "taken"}), 422, "status")
    assert (await patient.get("/api/v1/doses/")).json() == []


async def test_the_inbox_page_answers_a_dose_without_script(app: Litestar, patient: Api) -> None:
    _regimen, row = await medicine_reminder(app, patient)
    shown = await page(patient, "/reminders")
    for answer in ("taken", "skipped", "later"):
        assert f'action="/reminders/{row.id}/{answer}"' in shown.text
    sent = await submit(patient, f"/reminders/{row.id}/skipped", {})
    assert sent.status_code == 303 and sent.headers["location"] == "/reminders"
    after = await page(patient, "/reminders")
    assert f'action="/reminders/{row.id}/taken"' not in after.text
    assert '<p class="dose-answer">Skipped</p>' in after.text
    assert (await patient.get("/api/v1/doses/")).json()[0]["status"] == "skipped"


@pytest.fixture
def receiver() -> Any:
    with PushReceiver() as running:
        yield running


async def test_the_push_of_a_medicine_reminder_carries_its_answers(
    app: Litestar, browser: Any, receiver: PushReceiver
) -> None:
    patient: Api = await browser()
    await patient.register("patient", language="es")
    phone = await subscribe(patient, receiver)
    time, at = soon_time(30)
    body = {"kind": "muscle_relaxant", "name": "Baclofeno", "dose": "5 mg", "times": [time], "start_date": "2026-01-01"}
    assert (await patient.put(f"/api/v1/regimens/{uuid.uuid4()}", json=body)).status_code == 201
    dispatcher = Dispatcher(app.state.sessionmaker, app.state.settings, name=f"dose-test-{uuid.uuid4().hex[:6]}")
    await dispatcher.run_once(at + dt.timedelta(seconds=1))
    payloads = [phone.decrypt(p.body) for p in receiver.at(phone.endpoint)]
    [payload] = [p for p in payloads if p["tag"].startswith("medicine:")]
    assert payload["title"] == f"Baclofeno 5 mg a las {time}"
    assert payload["actions"] == [
        {"action": "taken", "title": "Tomada"},
        {"action": "skipped", "title": "Omitida"},
        {"action": "later", "title": "Recuérdamelo luego"},
    ]
    row = next(r for r in await reminders_of(app, patient) if r.kind == "medicine")  # the first of the 48 hours
    assert payload["reminder"] == str(row.id) and row.patient_id == pid(patient)
