"""The treatment plan pages (backend/diary/plan_pages.py): adding, changing and stopping a treatment with plain forms,
held to the regimen API's own rules (RegimenIn), and the plan as the patient sees it."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import Api
from tests.support.pages import UUID, alert_items, headings, hidden, page, submit, today

FORM = {
    "name": "Baclofen",
    "dose": "10 mg",
    "kind": "muscle_relaxant",
    "time_1": "08:00",
    "time_2": "20:00:00",  # some browsers post seconds
    "time_3": "",
    "time_4": "",
    "note": "Spasms at night",
}


async def new_form(patient: Api) -> tuple[str, dict[str, str]]:
    """The new treatment's address once written, and the fields the new form carries (its id)."""
    shown = await page(patient, "/plan/new")
    assert shown.status_code == 200
    regimen_id = hidden(shown.text, "id", "/plan/new")
    assert re.fullmatch(UUID, regimen_id)
    return f"/plan/{regimen_id}", {"id": regimen_id}


async def regimens(patient: Api) -> list[dict]:  # type: ignore[type-arg]
    answer = await patient.get("/api/v1/regimens/")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


async def test_the_more_page_leads_to_the_plan(patient: Api) -> None:
    more = await page(patient, "/more")
    assert 'href="/plan"' in more.text
    plan = await page(patient, "/plan")
    assert headings(plan.text) == ["My treatment plan"]
    assert "Nothing yet." in plan.text


async def test_adding_a_medicine_writes_the_regimen_the_api_reads(patient: Api) -> None:
    action, new = await new_form(patient)
    sent = await submit(patient, "/plan/new", {**FORM, **new, "start_date": today().isoformat()})
    assert sent.status_code == 303 and sent.headers["location"] == "/plan?saved=1"
    [r] = await regimens(patient)
    assert (r["name"], r["dose"], r["kind"], r["times"]) == ("Baclofen", "10 mg", "muscle_relaxant", ["08:00", "20:00"])
    assert r["start_date"] == today().isoformat() and r["note"] == "Spasms at night" and r["stop_date"] is None
    assert r["id"] == action[6:]
    plan = await page(patient, "/plan?saved=1")
    assert "Baclofen" in plan.text and "08:00, 20:00" in plan.text and 'role="status"' in plan.text
    # The same form sent twice (a double tap) is the same regimen, not two.
    again = await submit(patient, "/plan/new", {**FORM, **new, "start_date": today().isoformat()})
    assert again.status_code == 303
    assert len(await regimens(patient)) == 1


async def test_a_bad_form_keeps_what_was_typed_and_writes_nothing(patient: Api) -> None:
    _action, new = await new_form(patient)
    typed = {**FORM, **new, "name": "", "time_1": "25:00", "start_date": today().isoformat()}
    refused = await submit(patient, "/plan/new", typed)
    assert refused.status_code == 422
    assert alert_items(refused.text) == ["Name: is empty"]
    assert 'value="10 mg"' in refused.text  # what was typed is still there
    assert await regimens(patient) == []
    bad_time = await submit(patient, "/plan/new", {**FORM, **new, "time_1": "25:00", "start_date": today().isoformat()})
    assert bad_time.status_code == 422
    assert any(line.startswith("Times of day:") for line in alert_items(bad_time.text)), alert_items(bad_time.text)
    backwards = {**FORM, "start_date": today().isoformat(), "stop_date": (today() - dt.timedelta(days=3)).isoformat()}
    refused_stop = await submit(patient, "/plan/new", {**backwards, **new})
    assert refused_stop.status_code == 422
    assert alert_items(refused_stop.text) == ["Stopped on: must not be before start_date"]
    assert await regimens(patient) == []


async def test_changing_a_treatment_on_top_of_what_the_form_showed(patient: Api) -> None:
    action, new = await new_form(patient)
    await submit(patient, "/plan/new", {**FORM, **new, "start_date": today().isoformat()})
    edit = await page(patient, action)
    assert 'value="Baclofen"' in edit.text and 'value="08:00"' in edit.text and 'value="20:00"' in edit.text
    version = hidden(edit.text, "version", action)
    assert version == "1"
    changed = await submit(
        patient, action, {**FORM, "dose": "15 mg", "time_2": "", "start_date": today().isoformat(), "version": "1"}
    )
    assert changed.status_code == 303
    [r] = await regimens(patient)
    assert (r["dose"], r["times"], r["version"]) == ("15 mg", ["08:00"], 2)
    stale = await submit(patient, action, {**FORM, "dose": "5 mg", "start_date": today().isoformat(), "version": "1"})
    assert stale.status_code == 412
    assert "changed from somewhere else" in " ".join(alert_items(stale.text))
    assert 'value="5 mg"' in stale.text
    assert (await regimens(patient))[0]["dose"] == "15 mg"


async def test_stopping_a_treatment_says_whether_a_clinician_asked(patient: Api) -> None:
    action, new = await new_form(patient)
    start = today() - dt.timedelta(days=10)
    await submit(patient, "/plan/new", {**FORM, **new, "start_date": start.isoformat()})
    plan = await page(patient, "/plan")
    stop = f"{action}/stop"
    assert hidden(plan.text, "version", stop) == "1"
    done = await submit(patient, stop, {"version": "1", "stopped_by_clinician": "no"})
    assert done.status_code == 303 and done.headers["location"] == "/plan?saved=stopped"
    [r] = await regimens(patient)
    assert r["stop_date"] == today().isoformat() and r["stopped_by_clinician"] is False
    after = await page(patient, "/plan?saved=stopped")
    assert "Stopped" in headings(after.text, 2)
    assert "Nothing yet." in after.text  # no longer among what the patient takes now


async def test_someone_elses_treatment_is_not_found(patient: Api, browser) -> None:  # type: ignore[no-untyped-def]
    action, new = await new_form(patient)
    await submit(patient, "/plan/new", {**FORM, **new, "start_date": today().isoformat()})
    other: Api = await browser()
    await other.register("patient")
    assert (await page(other, action)).status_code == 404
    overwrite = await submit(other, action, {**FORM, "name": "Mine", "start_date": today().isoformat()})
    assert overwrite.status_code in (404, 409, 412, 428)
    assert (await regimens(patient))[0]["name"] == "Baclofen"
