"""The dose records over JSON (backend/diary/doses.py): PUT /api/v1/doses/{id} and PUT /api/v1/regimens/{id}/doses/
{slot} answer one scheduled dose (taken, skipped, later), both idempotent and landing on the one record of a dose;
bad input is a problem (RFC 9457) and writes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy import func, select

from backend.diary.models import Dose
from tests.conftest import Api
from tests.diary.test_api import assert_problem
from tests.support.pages import today


async def medicine(patient: Api, times: tuple[str, ...] = ("08:00", "20:00"), **fields: Any) -> str:
    regimen_id = str(uuid.uuid4())
    body = {
        "kind": "muscle_relaxant",
        "name": "Baclofen",
        "dose": "10 mg",
        "times": list(times),
        "start_date": (today() - dt.timedelta(days=5)).isoformat(),
        **fields,
    }
    assert (await patient.put(f"/api/v1/regimens/{regimen_id}", json=body)).status_code == 201
    return regimen_id


def yesterday_at(time: str) -> str:
    return f"{(today() - dt.timedelta(days=1)).isoformat()}T{time}"


async def count_doses(app: Litestar, patient: Api) -> int:
    async with app.state.sessionmaker() as db:
        mine = Dose.patient_id == uuid.UUID(patient.user["id"] if patient.user else "")
        return int((await db.execute(select(func.count()).select_from(Dose).where(mine))).scalar_one())


async def test_a_dose_by_its_slot_is_created_once_and_changed_in_place(app: Litestar, patient: Api) -> None:
    regimen_id = await medicine(patient)
    slot = yesterday_at("08:00")
    url = f"/api/v1/regimens/{regimen_id}/doses/{slot}"
    first = await patient.put(url, json={"status": "later"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["regimen_id"], body["scheduled_for"], body["status"], body["version"]) == (
        regimen_id,
        slot,
        "later",
        1,
    )
    assert first.headers["etag"] == '"1"'
    replay = await patient.put(url, json={"status": "later"})
    assert replay.status_code == 200 and replay.json()["id"] == body["id"] and replay.json()["version"] == 1
    taken = await patient.put(url, json={"status": "taken"})
    assert taken.status_code == 200 and taken.json()["version"] == 2 and taken.json()["id"] == body["id"]
    assert await count_doses(app, patient) == 1
    listed = (await patient.get("/api/v1/doses/")).json()
    assert [(d["scheduled_for"], d["status"]) for d in listed] == [(slot, "taken")]


async def test_a_dose_by_its_id_and_by_its_slot_is_one_record(app: Litestar, patient: Api) -> None:
    regimen_id = await medicine(patient)
    dose_id = str(uuid.uuid4())
    slot = yesterday_at("20:00")
    body = {"regimen_id": regimen_id, "scheduled_for": slot, "status": "taken"}
    made = await patient.put(f"/api/v1/doses/{dose_id}", json=body)
    assert made.status_code == 201 and made.json()["id"] == dose_id
    assert (await patient.put(f"/api/v1/doses/{dose_id}", json=body)).status_code == 200
    # Answered again from elsewhere, by its slot: the same record.
    again = await patient.put(f"/api/v1/regimens/{regimen_id}/doses/{slot}", json={"status": "skipped"})
    assert again.status_code == 200 and again.json()["id"] == dose_id and again.json()["status"] == "skipped"
    # Another phone's id for the same dose lands on it too (the slot is the dose).
    other = await patient.put(f"/api/v1/doses/{uuid.uuid4()}", json={**body, "status": "taken"})
    assert other.status_code == 200 and other.json()["id"] == dose_id
    # The id of one dose cannot name another.
    moved = await patient.put(f"/api/v1/doses/{dose_id}", json={**body, "scheduled_for": yesterday_at("08:00")})
    assert_problem(moved, 409)
    assert await count_doses(app, patient) == 1


async def test_bad_answers_are_problems_and_write_nothing(app: Litestar, patient: Api) -> None:
    regimen_id = await medicine(patient, start_date=(today() - dt.timedelta(days=2)).isoformat())
    url = f"/api/v1/regimens/{regimen_id}/doses"
    assert_problem(await patient.put(f"{url}/{yesterday_at('09:00')}", json={"status": "taken"}), 422, "scheduled_for")
    assert_problem(await patient.put(f"{url}/yesterday", json={"status": "taken"}), 422, "scheduled_for")
    assert_problem(await patient.put(f"{url}/2026-02-30T08:00", json={"status": "taken"}), 422, "scheduled_for")
    too_early = f"{(today() - dt.timedelta(days=4)).isoformat()}T08:00"  # before the treatment started
    assert_problem(await patient.put(f"{url}/{too_early}", json={"status": "taken"}), 422, "scheduled_for")
    ahead = f"{(today() + dt.timedelta(days=2)).isoformat()}T08:00"
    assert_problem(await patient.put(f"{url}/{ahead}", json={"status": "taken"}), 422, "scheduled_for")
    assert_problem(await patient.put(f"{url}/{yesterday_at('08:00')}", json={"status": "maybe"}), (400, 422), "status")
    assert_problem(await patient.put(f"{url}/{yesterday_at('08:00')}", json={"status": "taken", "x": 1}), (400, 422))
    bad_body = {"regimen_id": regimen_id, "scheduled_for": "2026-12-04 08:00", "status": "taken"}
    assert_problem(await patient.put(f"/api/v1/doses/{uuid.uuid4()}", json=bad_body), (400, 422), "scheduled_for")
    assert await count_doses(app, patient) == 0


async def test_someone_elses_regimen_is_not_found(app: Litestar, patient: Api, browser: Any) -> None:
    regimen_id = await medicine(patient)
    other: Api = await browser()
    await other.register("patient")
    answer = await other.put(f"/api/v1/regimens/{regimen_id}/doses/{yesterday_at('08:00')}", json={"status": "taken"})
    assert_problem(answer, 404)
    assert await count_doses(app, other) == 0 and await count_doses(app, patient) == 0


async def test_the_list_takes_a_range_of_days(patient: Api) -> None:
    regimen_id = await medicine(patient)
    for days_ago in (1, 2, 3):
        slot = f"{(today() - dt.timedelta(days=days_ago)).isoformat()}T08:00"
        assert (await patient.put(f"/api/v1/regimens/{regimen_id}/doses/{slot}", json={"status": "taken"})).is_success
    start = (today() - dt.timedelta(days=2)).isoformat()
    got = (await patient.get("/api/v1/doses/", params={"from": start, "to": start})).json()
    assert [d["scheduled_for"][:10] for d in got] == [start]
    assert_problem(await patient.get("/api/v1/doses/", params={"from": start, "to": "2020-01-01"}), (400, 422))
