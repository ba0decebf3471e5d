"""The triage list (most urgent first, counts against baseline, completeness, review marks, trend), and Modified
Ashworth grades kept exactly as graded."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.conftest import Api


async def log(
    api: Api, days_ago: int, *, hour: int = 12, minutes: int = 0, offset_hours: int = 1, **fields: Any
) -> None:
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    local_today = dt.datetime.now(tz).replace(hour=hour, minute=minutes, second=0, microsecond=0)
    start = local_today - dt.timedelta(days=days_ago)
    if start > dt.datetime.now(tz):
        start -= dt.timedelta(days=1)
    body = {
        "kind": "spasm",
        "started_at": start.isoformat(),
        "intensity": 3,
        "body_sites": [{"site": "calf", "side": "left"}],
        **fields,
    }
    assert (await api.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201


async def patient_named(browser: Any, name: str) -> Api:
    api: Api = await browser()
    await api.register("patient", display_name=name)
    return api


async def test_triage_orders_by_urgency_and_counts_against_the_baseline(app: Litestar, browser: Any) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    calm = await patient_named(browser, "Calm")
    urgent = await patient_named(browser, "Urgent")
    routine = await patient_named(browser, "Routine")
    for p in (calm, urgent, routine):
        await make_link(app, p, doctor, "active", ["view", "annotate"])
    # Calm: one episode a day on 6 of the last 7 days, and 1 a week in the 4 weeks before (baseline 1 a week).
    for d in range(1, 7):
        await log(calm, d)
    for d in (10, 17, 24, 31):
        await log(calm, d)
    await log(urgent, 1, duration_seconds=20 * 60)  # U1
    await log(routine, 1, intensity=8)
    await log(routine, 2, intensity=9)  # R3 after the background evaluation
    await app.state.evaluator.drain()

    rows = (await doctor.get("/api/v1/triage", params={"days": 7})).json()
    assert [r["name"] for r in rows] == ["Urgent", "Routine", "Calm"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["Urgent"]["top_urgency"] == "urgent" and by_name["Urgent"]["open_flags"]["urgent"] == 1
    assert by_name["Calm"]["episodes_per_week"] == 6.0
    assert by_name["Calm"]["baseline_per_week"] == 1.0
    assert by_name["Calm"]["days_logged"] == 6 and by_name["Calm"]["period_days"] == 7
    assert sum(by_name["Calm"]["daily_counts"]) == 6 and len(by_name["Calm"]["daily_counts"]) == 7
    assert (await doctor.get("/api/v1/triage", params={"days": 10})).status_code == 400
    month = {r["name"]: r for r in (await doctor.get("/api/v1/triage", params={"days": 30})).json()}
    assert len(month["Calm"]["daily_counts"]) == 30


async def test_late_evening_episodes_count_on_the_patients_own_day(app: Litestar, browser: Any) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    night_owl = await patient_named(browser, "Night owl")
    await make_link(app, night_owl, doctor, "active", ["view"])
    # 00:30 local (UTC+3) three days ago is still the previous evening in UTC: it must count on the local day.
    await log(night_owl, 3, hour=0, minutes=30, offset_hours=3)
    row = (await doctor.get("/api/v1/triage", params={"days": 7})).json()[0]
    expected = dt.datetime.now(dt.timezone(dt.timedelta(hours=3))).date() - dt.timedelta(days=3)
    first = dt.date.fromisoformat(row["first_day"])  # the patient's own day, not this machine's
    assert row["daily_counts"][(expected - first).days] == 1


async def test_review_marks_and_undo_only_ones_own(app: Litestar, patient: Api, browser: Any) -> None:
    first: Api = await browser()
    await first.register("clinician")
    second: Api = await browser()
    await second.register("clinician")
    for doctor in (first, second):
        await make_link(app, patient, doctor, "active", ["view"])
    url = f"/api/v1/patients/{patient.user['id']}/reviewed"  # type: ignore[index]
    assert (await first.post(url)).status_code == 201
    row = (await first.get("/api/v1/triage")).json()[0]
    assert row["last_reviewed_at"] and row["reviewed_by_me"] is True
    assert (await second.get("/api/v1/triage")).json()[0]["reviewed_by_me"] is False
    assert (await second.delete(url)).status_code == 409  # not theirs to undo
    assert (await first.delete(url)).status_code == 204
    assert (await first.get("/api/v1/triage")).json()[0]["last_reviewed_at"] is None


async def test_ashworth_grades_are_kept_as_graded(app: Litestar, patient: Api, clinician: Api) -> None:
    await make_link(app, patient, clinician, "active", ["view", "annotate"])
    url = f"/api/v1/patients/{patient.user['id']}/ashworth"  # type: ignore[index]
    today = dt.date.today().isoformat()
    made = await clinician.post(
        url, json={"muscle_group": "ankle_plantarflexors", "side": "left", "grade": "1+", "assessed_on": today}
    )
    assert made.status_code == 201 and made.json()["grade"] == "1+"
    for bad in ({"grade": "5"}, {"grade": 1}, {"side": "both"}, {"muscle_group": "tongue"}):
        body = {"muscle_group": "knee_flexors", "side": "right", "grade": "2", "assessed_on": today, **bad}
        assert (await clinician.post(url, json=body)).status_code == 400, bad
    listed = (await clinician.get(url)).json()
    assert [(g["muscle_group"], g["grade"]) for g in listed] == [("ankle_plantarflexors", "1+")]
    assert (
        await patient.post(
            url, json={"muscle_group": "knee_flexors", "side": "right", "grade": "2", "assessed_on": today}
        )
    ).status_code == 403


async def test_the_triage_page_lists_linked_patients_and_marks_them_reviewed(app: Litestar, browser: Any) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    someone = await patient_named(browser, "Someone <b>bold</b>")
    stranger = await patient_named(browser, "Not linked")
    await make_link(app, someone, doctor, "active", ["view"])
    await log(someone, 1, duration_seconds=900)
    page = await doctor.client.get("/", params={"days": 14}, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert f"/patients/{someone.user['id']}/report" in page.text  # type: ignore[index]
    assert "Someone &lt;b&gt;bold&lt;/b&gt;" in page.text and "Not linked" not in page.text
    assert 'aria-current="page">Last 14 days' in page.text and "<svg" in page.text
    assert "Urgent" in page.text
    token = page.text.split('name="_csrf" value="')[1].split('"')[0]
    marked = await doctor.client.post(f"/patients/{someone.user['id']}/reviewed", data={"_csrf": token})  # type: ignore[index]
    assert marked.status_code == 303
    assert "never" not in (await doctor.client.get("/", headers={"accept": "text/html"})).text
    refused = await doctor.client.post(
        f"/patients/{stranger.user['id']}/reviewed",
        data={"_csrf": token},  # type: ignore[index]
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 404
