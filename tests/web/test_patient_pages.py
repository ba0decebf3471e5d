"""The patient's HTML pages: every form works without script and writes through the same rules as the JSON API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import html
import json
import re
import uuid
from typing import Any

from tests.conftest import Api
from tests.web.helpers import (
    HTML,
    JSON,
    episodes,
    headings,
    hidden,
    html_lang,
    local_noon,
    page,
    put_episode,
    spanish,
    submit,
    today,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def patient_pages(episode_id: str) -> dict[str, str]:
    """Every page a patient can open, with the heading it must show."""
    yesterday = today() - dt.timedelta(days=1)
    return {
        "/log": "Log a spasm",
        f"/episodes/{episode_id}": "Episode details",
        "/check-in": "Daily check-in",
        f"/check-in/{yesterday.isoformat()}": "Daily check-in",
        "/penn": "Weekly spasm rating",
        "/history": "My diary",
        "/trends": "My trends",
        "/more": "More",
        "/sharing": "Share with my care team",
        "/sharing/history": "Who looked at my diary",
        "/account": "My data and settings",
    }


def patient_forms(episode_id: str) -> list[str]:
    return [
        "/log",
        f"/episodes/{episode_id}",
        f"/episodes/{episode_id}/delete",
        f"/check-in/{today().isoformat()}",
        f"/penn/{iso_week(today())}",
        "/sharing/code",
        "/sharing/accept",
        f"/sharing/{uuid.uuid4()}/revoke",
        "/account/settings",
        "/account/erase",
    ]


def alert_items(text: str) -> list[str]:
    box = re.search(r'<div class="error" role="alert"[^>]*>(.*?)</div>', text, re.S)
    assert box is not None, text
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li>(.*?)</li>", box.group(1))]


def urgent_notices(text: str) -> list[str]:
    """The urgent safety notices of a page; each must be announced at once (role="alert")."""
    found = re.findall(r'<li class="flag urgent"[^>]*>(.*?)</li>', text, re.S)
    items = re.findall(r'<li class="flag urgent"[^>]*>.*?</li>', text, re.S)
    assert all('role="alert"' in item for item in items), items
    return found


def checked_values(text: str, name: str) -> set[str]:
    inputs = re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', text)
    return {re.search(r'value="([^"]*)"', i).group(1) for i in inputs if re.search(r"\bchecked\b", i)}  # type: ignore[union-attr]


# ---- who may open the pages ------------------------------------------------------------------------------------------


async def test_every_patient_page_answers_with_its_heading(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    for url, title in patient_pages(episode["id"]).items():
        response = await page(patient, url)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        assert response.headers["content-type"].startswith("text/html"), url
        assert headings(response.text) == [title], (url, headings(response.text))
        assert html_lang(response.text) == "en", url
        assert 'data-role="patient"' in response.text, url
        assert f'data-user="{patient.user["id"]}"' in response.text, url  # type: ignore[index]
        assert "no-store" in response.headers.get("cache-control", ""), url


async def test_signed_out_visitors_are_sent_to_sign_in(browser: Any, patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    stranger: Api = await browser()
    await stranger.refresh_csrf()  # an anonymous token, so that CSRF is not what stops them
    for url in patient_pages(episode["id"]):
        response = await page(stranger, url)
        assert response.status_code == 303, (url, response.status_code)
        assert response.headers["location"] == "/sign-in", url
        scripted = await stranger.client.get(url, headers=JSON)
        assert scripted.status_code == 401, url
        assert scripted.headers["content-type"].startswith("application/problem+json")
        assert scripted.json()["code"] == "not-signed-in"
    for url in patient_forms(episode["id"]):
        response = await submit(stranger, url, {"intensity": "5", "where": "calf:left", "password": "x"})
        assert response.status_code == 303, (url, response.status_code)
        assert response.headers["location"] == "/sign-in", url
    assert len(await episodes(patient)) == 1


async def test_a_clinician_cannot_use_patient_pages(clinician: Api, patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    for url in patient_pages(episode["id"]):
        response = await page(clinician, url)
        assert response.status_code == 403, (url, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), url
        assert "Only patients keep a diary." in response.text, url
        scripted = await clinician.client.get(url, headers=JSON)
        assert scripted.status_code == 403, url
        assert scripted.json()["code"] == "patients-only"
    for url in patient_forms(episode["id"]):
        data = {"intensity": "9", "where": "calf:left", "kind": "cramp", "version": "1", "password": "x"}
        response = await submit(clinician, url, data)
        assert response.status_code == 403, (url, response.status_code)
        assert "Only patients keep a diary." in response.text
    # The patient's episode is untouched, and the clinician still has a working account.
    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()["version"] == 1
    assert (await clinician.get("/api/v1/auth/session")).json()["user"]["role"] == "clinician"


async def test_another_patients_episode_looks_missing(patient: Api, other_patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)), note="private")
    url = f"/episodes/{episode['id']}"
    assert (await page(other_patient, url)).status_code == 404
    edit = await submit(other_patient, url, {"kind": "cramp", "intensity": "1", "version": "1", "note": "mine now"})
    assert edit.status_code == 404
    delete = await submit(other_patient, f"{url}/delete", {"version": "1"})
    assert delete.status_code == 404
    kept = (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()
    assert (kept["version"], kept["note"], kept["intensity"]) == (1, "private", 5)
    assert (await page(patient, f"/episodes/{uuid.uuid4()}")).status_code == 404


# ---- the log form ----------------------------------------------------------------------------------------------------


async def test_log_form_without_script_creates_one_episode(patient: Api) -> None:
    form_page = await page(patient, "/log")
    episode_id = hidden(form_page.text, "id", "/log")
    assert re.fullmatch(UUID, episode_id)
    kind = hidden(form_page.text, "kind", "/log")
    assert kind == "spasm"  # a patient without a cramp condition logs spasms by default
    data = {"_csrf": hidden(form_page.text, "_csrf", "/log"), "id": episode_id, "kind": kind, "ago": "15",
            "intensity": "7", "where": ["calf:left", "thigh:right"], "started_at": "", "duration_seconds": ""}  # fmt: skip
    sent_at = dt.datetime.now(dt.UTC)
    response = await submit(patient, "/log", data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/episodes/{episode_id}?saved=1"

    items = await episodes(patient)
    assert [e["id"] for e in items] == [episode_id]
    saved = items[0]
    assert saved["intensity"] == 7
    assert saved["kind"] == "spasm"
    assert saved["body_sites"] == [{"site": "calf", "side": "left"}, {"site": "thigh", "side": "right"}]
    started = dt.datetime.fromisoformat(saved["started_at"])
    assert abs(started - (sent_at - dt.timedelta(minutes=15))) < dt.timedelta(seconds=90), started
    assert saved["reporter"] == "self" and saved["triggers"] == [] and saved["note"] is None

    shown = await page(patient, response.headers["location"])
    assert shown.status_code == 200
    assert 'role="status">Saved.' in shown.text
    assert checked_values(shown.text, "where") == {"calf:left", "thigh:right"}
    assert checked_values(shown.text, "intensity") == {"7"}


async def test_log_form_defaults_to_a_cramp_for_cramp_conditions(patient: Api) -> None:
    changed = await submit(patient, "/account/settings", {"language": "en", "time_zone": "Europe/Madrid",
                                                          "conditions": ["night_cramps"]})  # fmt: skip
    assert changed.status_code == 200, changed.text
    form_page = await page(patient, "/log")
    assert hidden(form_page.text, "kind", "/log") == "cramp"
    data = {"id": hidden(form_page.text, "id", "/log"), "kind": "cramp", "ago": "0", "intensity": "4",
            "where": "calf:right"}  # fmt: skip
    assert (await submit(patient, "/log", data)).status_code == 303
    assert [e["kind"] for e in await episodes(patient)] == ["cramp"]


async def test_log_form_posted_twice_keeps_one_episode(patient: Api) -> None:
    """A double tap, or the browser resending the form after a lost answer, must not make a second entry nor fail."""
    episode_id = str(uuid.uuid4())
    data = {"id": episode_id, "kind": "spasm", "ago": "30", "intensity": "6", "where": ["hand:left"]}
    answers = [await submit(patient, "/log", data), await submit(patient, "/log", data)]
    await asyncio.sleep(1.1)  # a resend a moment later: the clock has moved on
    answers.append(await submit(patient, "/log", data))
    for answer in answers:
        assert answer.status_code == 303, (answer.status_code, alert_items(answer.text) if answer.is_error else "")
        assert answer.headers["location"] == f"/episodes/{episode_id}?saved=1"
    items = await episodes(patient)
    assert [e["id"] for e in items] == [episode_id]
    assert items[0]["version"] == 1


async def test_log_form_without_strength_or_place_says_both_and_writes_nothing(patient: Api) -> None:
    for data in (
        {"id": str(uuid.uuid4()), "ago": "15"},
        {"id": str(uuid.uuid4()), "ago": "15", "intensity": "11", "where": ["nowhere:left", "calf:upside"]},
        {"id": str(uuid.uuid4()), "ago": "15", "intensity": "-1", "where": ""},
    ):
        response = await submit(patient, "/log", data)
        assert response.status_code == 400, (data, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert alert_items(response.text) == [
            "Choose how strong it was, from 0 to 10.",
            "Tap at least one place on the body.",
        ]
        assert headings(response.text) == ["Log a spasm"]
        assert checked_values(response.text, "ago") == {"15"}  # what was chosen is kept
    only_place = await submit(patient, "/log", {"id": str(uuid.uuid4()), "intensity": "5"})
    assert only_place.status_code == 400
    assert alert_items(only_place.text) == ["Tap at least one place on the body."]
    assert checked_values(only_place.text, "intensity") == {"5"}
    assert await episodes(patient) == []


async def test_forms_answer_kindly_to_digits_python_cannot_read(patient: Api) -> None:
    """str.isdigit() is true for "²", which int() refuses: such a value must be a form error, never a crash."""
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    logged = await submit(patient, "/log", {"id": str(uuid.uuid4()), "intensity": "²", "where": "calf:left"})
    assert logged.status_code == 400, logged.status_code
    assert alert_items(logged.text) == ["Choose how strong it was, from 0 to 10."]
    assert [e["id"] for e in await episodes(patient)] == [episode["id"]]
    details = {"version": "¹", "kind": "spasm", "intensity": "6", "where": "calf:left"}
    edited = await submit(patient, f"/episodes/{episode['id']}", details)
    assert edited.status_code < 500, edited.status_code
    deleted = await submit(patient, f"/episodes/{episode['id']}/delete", {"version": "¹"})
    assert deleted.status_code < 500, deleted.status_code
    checked = await submit(patient, f"/check-in/{today().isoformat()}", {"version": "²", "stiffness": "3"})
    assert checked.status_code < 500, checked.status_code


async def test_log_form_needs_the_csrf_field(patient: Api) -> None:
    data = {"id": str(uuid.uuid4()), "intensity": "5", "where": "calf:left"}
    for token in ("", "0" * 64):
        response = await submit(patient, "/log", data, csrf=token)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert await episodes(patient) == []


# ---- episode details -------------------------------------------------------------------------------------------------


async def test_details_form_changes_what_it_shows_and_keeps_the_rest(patient: Api) -> None:
    started = local_noon(today() - dt.timedelta(days=1))
    episode = await put_episode(
        patient,
        started,
        kind="spasm",
        intensity=5,
        own_triggers=["cat jumped on the bed"],
        context=["itb_pump_alarm"],
        reporter="carer",
        treatments=[{"kind": "muscle_relaxant", "name": "Baclofen", "dose": "10 mg"}],
        symptoms=["twitching"],
    )
    url = f"/episodes/{episode['id']}"
    form_page = await page(patient, url)
    assert hidden(form_page.text, "version", url) == "1"
    assert 'href="/learn/causes-and-triggers#fatigue"' not in form_page.text  # articles of the chosen triggers only
    data = {
        "version": "1",
        "kind": "flexor_spasm",
        "intensity": "6",
        "duration_minutes": "5",
        "where": ["calf:left", "shin:left"],
        "triggers": ["fatigue", "stress"],
        "treatments": ["muscle_relaxant", "stretching"],
        "relief": "7",
        "impacts": ["stopped_walking"],
        "note": "Better after a walk",
    }
    response = await submit(patient, url, data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{url}?saved=1"

    saved = (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()
    assert saved["version"] == 2
    assert saved["kind"] == "flexor_spasm"
    assert saved["intensity"] == 6
    assert saved["duration_seconds"] == 300 and saved["ended_at"] is None
    assert saved["body_sites"] == [{"site": "calf", "side": "left"}, {"site": "shin", "side": "left"}]
    assert saved["triggers"] == ["fatigue", "stress"]
    assert saved["impacts"] == ["stopped_walking"]
    assert saved["note"] == "Better after a walk"
    assert saved["treatments"] == [
        {"kind": "muscle_relaxant", "name": "Baclofen", "dose": "10 mg", "relief": 7, "minutes_to_relief": None},
        {"kind": "stretching", "name": None, "dose": None, "relief": 7, "minutes_to_relief": None},
    ]
    # Not on the form: kept as they were.
    assert saved["own_triggers"] == ["cat jumped on the bed"]
    assert saved["reporter"] == "carer"
    assert dt.datetime.fromisoformat(saved["started_at"]) == started
    # On the form but left empty: the form means "none" (symptoms and warning-sign context unticked).
    assert saved["symptoms"] == []
    assert saved["context"] == []

    shown = await page(patient, f"{url}?saved=1")
    assert checked_values(shown.text, "triggers") == {"fatigue", "stress"}
    assert 'href="/learn/causes-and-triggers#fatigue"' in shown.text
    assert 'href="/learn/causes-and-triggers#stress"' in shown.text
    assert checked_values(shown.text, "treatments") == {"muscle_relaxant", "stretching"}
    assert checked_values(shown.text, "relief") == {"7"}
    assert checked_values(shown.text, "kind") == {"flexor_spasm"}
    assert hidden(shown.text, "version", url) == "2"


async def test_details_form_with_a_stale_version_shows_both_and_saves_nothing(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=2)), note="typed first")
    episode_url = f"/api/v1/episodes/{episode['id']}"
    body = {k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")}
    on_phone = await patient.put(
        episode_url, json={**body, "note": "changed on the phone"}, headers={"If-Match": '"1"'}
    )
    assert on_phone.status_code == 200 and on_phone.json()["version"] == 2

    url = f"/episodes/{episode['id']}"
    data = {"version": "1", "kind": "spasm", "intensity": "8", "where": "calf:left", "note": "typed on the computer"}
    response = await submit(patient, url, data)
    assert response.status_code == 409, response.status_code
    assert response.headers["content-type"].startswith("text/html")
    conflict = re.search(r'<section class="conflict"[^>]*>(.*?)</section>', response.text, re.S)
    assert conflict is not None, response.text
    assert "changed on the phone" in conflict.group(1)
    assert "typed on the computer" in conflict.group(1)
    intensity = re.search(r"<dt>Strength</dt>\s*<dd>(.*?)</dd>", conflict.group(1), re.S)
    assert intensity is not None, conflict.group(1)
    assert re.sub(r"<[^>]+>", " ", intensity.group(1)).split() == ["Saved:", "5", "Yours:", "8"]
    # The form under it now holds the saved version, so saving again is a deliberate choice.
    assert hidden(response.text, "version", url) == "2"

    stored = (await patient.get(episode_url)).json()
    assert (stored["version"], stored["note"], stored["intensity"]) == (2, "changed on the phone", 5)


async def test_a_conflict_in_spanish_names_the_fields_in_spanish(patient: Api) -> None:
    """The labels of the compare table go through translate(), so they must be in the catalog too."""
    await submit(patient, "/account/settings", {"language": "es", "time_zone": "Europe/Madrid"})
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=2)), note="uno")
    body = {k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")}
    await patient.put(f"/api/v1/episodes/{episode['id']}", json={**body, "note": "dos"}, headers={"If-Match": '"1"'})
    data = {"version": "1", "kind": "spasm", "intensity": "8", "where": "calf:left", "note": "tres"}
    response = await submit(patient, f"/episodes/{episode['id']}", data)
    assert response.status_code == 409
    labels = re.findall(r"<dt>(.*?)</dt>", response.text)
    assert labels, response.text
    english = {"Intensity", "Note", "Kind", "Where", "Triggers", "Treatments", "Duration minutes"}
    assert not set(labels) & english, labels


async def test_a_note_cannot_break_out_of_the_record_script(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    url = f"/episodes/{episode['id']}"
    note = 'Ouch </script><b>bold</b><script>alert("x")</script> & <!-- done'
    data = {"version": "1", "kind": "spasm", "intensity": "5", "where": "calf:left", "note": note}
    assert (await submit(patient, url, data)).status_code == 303
    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()["note"] == note

    shown = await page(patient, url)
    assert shown.status_code == 200
    record = re.search(r'<script type="application/json" id="record">(.*?)</script>', shown.text, re.S)
    assert record is not None
    parsed = json.loads(record.group(1))
    assert parsed["note"] == note
    assert parsed["id"] == episode["id"] and parsed["version"] == 2
    assert "<b>" not in shown.text and "<!-- done" not in shown.text
    assert len(re.findall(r"<script\b", shown.text)) == len(re.findall(r"</script>", shown.text))
    textarea = re.search(r'<textarea id="note"[^>]*>(.*?)</textarea>', shown.text, re.S)
    assert textarea is not None and html.unescape(textarea.group(1)) == note


async def test_details_form_refuses_numbers_out_of_range_and_saves_nothing(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    url = f"/episodes/{episode['id']}"
    for field, value in (("duration_minutes", "1441"), ("duration_minutes", "soon"), ("intensity", "12"),
                         ("duration_minutes", "1e999"), ("relief", "inf")):  # fmt: skip
        data = {"version": "1", "kind": "spasm", "intensity": "5", "where": "calf:left", field: value}
        response = await submit(patient, url, data)
        assert response.status_code == 422, (field, value, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert any(field in item for item in alert_items(response.text)), (field, value)
    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()["version"] == 1


# ---- deleting --------------------------------------------------------------------------------------------------------


async def test_delete_form_leaves_a_tombstone(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    kept = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)), intensity=2)
    url = f"/episodes/{episode['id']}"
    version = hidden((await page(patient, url)).text, "version", f"{url}/delete")
    response = await submit(patient, f"{url}/delete", {"version": version})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/history?deleted=1"

    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).status_code == 404
    assert (await page(patient, url)).status_code == 404
    feed = (await patient.get("/api/v1/sync")).json()
    assert [(d["type"], d["id"]) for d in feed["deleted"]] == [("episode", episode["id"])]
    assert [e["id"] for e in feed["episodes"]] == [kept["id"]]
    history = await page(patient, "/history?deleted=1")
    assert "The entry was deleted." in history.text
    assert episode["id"] not in history.text and kept["id"] in history.text
    # A replayed create cannot bring it back.
    replay = await patient.put(f"/api/v1/episodes/{episode['id']}", json={
        k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")})  # fmt: skip
    assert replay.status_code == 410


async def test_delete_form_with_a_stale_version_deletes_nothing(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    body = {k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")}
    await patient.put(f"/api/v1/episodes/{episode['id']}", json={**body, "intensity": 9}, headers={"If-Match": '"1"'})
    response = await submit(patient, f"/episodes/{episode['id']}/delete", {"version": "1"})
    assert response.status_code == 412
    assert response.headers["content-type"].startswith("text/html")
    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()["intensity"] == 9


# ---- daily check-in --------------------------------------------------------------------------------------------------


async def test_checkin_form_saves_what_was_typed(patient: Api) -> None:
    day = today()
    form_page = await page(patient, "/check-in")
    assert f'action="/check-in/{day.isoformat()}"' in form_page.text
    assert day.strftime("%d/%m/%Y") in form_page.text
    data = {
        "version": hidden(form_page.text, "version", f"/check-in/{day.isoformat()}"),
        "stiffness": "6",
        "sleep_disturbance": "3",
        "pain": "4",
        "meds_taken": "some",
        "symptoms": ["itching"],
        "temperature_c": "37,5",
        "systolic_bp": "128",
        "note": "Long day",
    }
    response = await submit(patient, f"/check-in/{day.isoformat()}", data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/check-in/{day.isoformat()}?saved=1"
    saved = (await patient.get(f"/api/v1/checkins/{day.isoformat()}")).json()
    assert saved["temperature_c"] == 37.5
    assert (saved["stiffness"], saved["sleep_disturbance"], saved["pain"]) == (6, 3, 4)
    assert saved["meds_taken"] == "some" and saved["symptoms"] == ["itching"]
    assert saved["systolic_bp"] == 128 and saved["note"] == "Long day"
    assert saved["no_episodes"] is False and saved["new_or_worse_symptoms"] is None
    shown = await page(patient, response.headers["location"])
    assert "Saved. Thank you." in shown.text
    assert checked_values(shown.text, "stiffness") == {"6"}
    assert 'value="37.5"' in shown.text

    # Saving again from the page (it carries the version) replaces the day's check-in.
    again = {"version": hidden(shown.text, "version", f"/check-in/{day.isoformat()}"), "no_episodes": "yes"}
    assert (await submit(patient, f"/check-in/{day.isoformat()}", again)).status_code == 303
    replaced = (await patient.get(f"/api/v1/checkins/{day.isoformat()}")).json()
    assert replaced["no_episodes"] is True and replaced["stiffness"] is None and replaced["version"] == 2


async def test_checkin_form_refuses_a_temperature_out_of_range(patient: Api) -> None:
    day = (today() - dt.timedelta(days=1)).isoformat()
    for value, words in (("50", "between 30 and 45"), ("29,9", "between 30 and 45"), ("warm", "a number")):
        response = await submit(patient, f"/check-in/{day}", {"stiffness": "5", "temperature_c": value})
        assert response.status_code == 422, (value, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert any(words in item for item in alert_items(response.text)), (value, alert_items(response.text))
        assert headings(response.text) == ["Daily check-in"]
    assert (await patient.get(f"/api/v1/checkins/{day}")).status_code == 404


async def test_checkin_form_refuses_numbers_that_are_not_scores(patient: Api) -> None:
    day = (today() - dt.timedelta(days=1)).isoformat()
    for field, value in (("stiffness", "11"), ("pain", "lots"), ("stiffness", "inf"), ("systolic_bp", "1e999")):
        response = await submit(patient, f"/check-in/{day}", {field: value})
        assert response.status_code == 422, (field, value, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert any(field in item for item in alert_items(response.text)), (field, value)
    assert (await patient.get(f"/api/v1/checkins/{day}")).status_code == 404


async def test_checkin_with_red_flag_symptoms_shows_the_safety_notice(patient: Api) -> None:
    """U4 (CLINICAL.md (a)): new weakness noted on a check-in must tell the patient at once to seek help."""
    day = today().isoformat()
    response = await submit(patient, f"/check-in/{day}", {"stiffness": "4", "symptoms": ["new_weakness"]})
    assert response.status_code == 200, response.status_code
    notices = urgent_notices(response.text)
    assert len(notices) == 1, response.text
    assert "new or worse weakness" in notices[0]
    assert 'href="/learn/when-to-seek-help#now"' in notices[0]
    assert "Saved. Thank you." in response.text
    saved = (await patient.get(f"/api/v1/checkins/{day}")).json()
    assert saved["symptoms"] == ["new_weakness"]
    assert [n["rule_id"] for n in saved["safety"]] == ["U4"]


async def test_checkin_with_swelling_and_redness_shows_the_safety_notice(patient: Api) -> None:
    day = today().isoformat()
    response = await submit(patient, f"/check-in/{day}", {"symptoms": ["swelling", "redness"]})
    assert response.status_code == 200
    notices = urgent_notices(response.text)
    assert len(notices) == 1 and "swelling with redness" in notices[0], response.text


async def test_a_calm_checkin_shows_no_notice(patient: Api) -> None:
    day = today().isoformat()
    response = await submit(patient, f"/check-in/{day}", {"stiffness": "2", "temperature_c": "36.6"})
    assert response.status_code == 303
    shown = await page(patient, response.headers["location"])
    assert 'class="flag' not in shown.text


# ---- weekly Penn rating ----------------------------------------------------------------------------------------------


async def test_penn_form_with_no_spasms_needs_no_severity(patient: Api) -> None:
    week = iso_week(today())
    form_page = await page(patient, "/penn")
    assert f'action="/penn/{week}"' in form_page.text
    response = await submit(patient, f"/penn/{week}", {"frequency": "0", "severity": "2"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/penn?saved=1"
    ratings = (await patient.get("/api/v1/penn")).json()
    assert [(r["week"], r["frequency"], r["severity"]) for r in ratings] == [(week, 0, None)]
    shown = await page(patient, "/penn?saved=1")
    assert "Saved. Thank you." in shown.text
    assert checked_values(shown.text, "frequency") == {"0"}
    assert checked_values(shown.text, "severity") == set()


async def test_penn_form_with_spasms_saves_the_severity(patient: Api) -> None:
    week = iso_week(today())
    response = await submit(patient, f"/penn/{week}", {"frequency": "3", "severity": "2"})
    assert response.status_code == 303
    ratings = (await patient.get("/api/v1/penn")).json()
    assert [(r["week"], r["frequency"], r["severity"]) for r in ratings] == [(week, 3, 2)]


async def test_penn_form_without_frequency_or_severity_says_so(patient: Api) -> None:
    week = iso_week(today())
    missing = await submit(patient, f"/penn/{week}", {"severity": "2"})
    assert missing.status_code == 422
    assert alert_items(missing.text) == ["Choose how often you had spasms."]
    no_severity = await submit(patient, f"/penn/{week}", {"frequency": "2"})
    assert no_severity.status_code == 422
    assert any(item.startswith("How bad:") for item in alert_items(no_severity.text)), alert_items(no_severity.text)
    out_of_scale = await submit(patient, f"/penn/{week}", {"frequency": "5"})
    assert out_of_scale.status_code == 422
    assert (await patient.get("/api/v1/penn")).json() == []


# ---- sharing ---------------------------------------------------------------------------------------------------------


async def named_clinician(browser: Any) -> Api:
    api: Api = await browser()
    await api.register("clinician", display_name=f"Dr Pages {uuid.uuid4().hex[:6]}")
    return api


def sharing_rows(text: str) -> list[tuple[str, str]]:
    """(clinician name, link id) of each row of the sharing list."""
    return re.findall(rf'<li><strong>([^<]*)</strong>.*?action="/sharing/({UUID})/revoke"', text, re.S)


async def test_sharing_by_code_then_stopping_it(browser: Any, patient: Api) -> None:
    clinician = await named_clinician(browser)
    name = clinician.user["display_name"]  # type: ignore[index]
    patient_id = patient.user["id"]  # type: ignore[index]
    empty = await page(patient, "/sharing")
    assert empty.status_code == 200
    assert "Nobody. Your diary is private until you share it." in empty.text

    made = await submit(patient, "/sharing/code", {"scopes": ["annotate"]})
    assert made.status_code == 200, made.text
    code = re.search(r'<p class="big-code">([^<]+)</p>', made.text)
    assert code is not None
    assert re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}", code.group(1))
    qr = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', made.text)
    assert qr is not None
    assert b"<svg" in base64.b64decode(qr.group(1))

    redeemed = await clinician.post("/api/v1/care-links/redeem", json={"code": code.group(1)})
    assert redeemed.status_code == 201, redeemed.text
    link = redeemed.json()
    assert link["scopes"] == ["view", "annotate"]
    report = f"/patients/{patient_id}/report"
    assert (await clinician.client.get(report, headers=HTML)).status_code == 200
    assert (await clinician.get(f"/api/v1/patients/{patient_id}/flags")).status_code == 200

    listed = await page(patient, "/sharing")
    assert sharing_rows(listed.text) == [(html.escape(name), link["id"])]
    history = await page(patient, "/sharing/history")
    assert history.status_code == 200
    cells = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", history.text)
    assert cells and all(who == html.escape(name) for who, _ in cells), cells
    assert "Nobody has looked at your diary yet." not in history.text

    stopped = await submit(patient, f"/sharing/{link['id']}/revoke", {})
    assert stopped.status_code == 200
    assert "Sharing stopped. They can no longer see your diary." in stopped.text
    assert sharing_rows(stopped.text) == []
    assert (await clinician.client.get(report, headers=HTML)).status_code == 404
    assert (await clinician.get(f"/api/v1/patients/{patient_id}/flags")).status_code == 404
    assert [x["status"] for x in (await patient.get("/api/v1/care-links")).json()] == ["revoked"]


async def test_a_fresh_access_history_says_nobody_looked(patient: Api) -> None:
    response = await page(patient, "/sharing/history")
    assert "Nobody has looked at your diary yet." in response.text
    assert "<table>" not in response.text


async def test_accepting_a_clinicians_code(browser: Any, patient: Api) -> None:
    clinician = await named_clinician(browser)
    offer = await clinician.post("/api/v1/care-links/offers")
    assert offer.status_code == 201, offer.text
    empty = await submit(patient, "/sharing/accept", {"code": "  "})
    assert empty.status_code == 422 and alert_items(empty.text) == ["Type the code first."]
    wrong = await submit(patient, "/sharing/accept", {"code": "ABCDE-FGHJK"})
    assert wrong.status_code == 404 and "not valid" in alert_items(wrong.text)[0]
    assert (await patient.get("/api/v1/care-links")).json() == []
    done = await submit(patient, "/sharing/accept", {"code": offer.json()["code"]})
    assert done.status_code == 200, done.text
    assert "Done: your clinician can now see your diary." in done.text
    assert [n for n, _ in sharing_rows(done.text)] == [html.escape(clinician.user["display_name"])]  # type: ignore[index]


async def test_a_patient_cannot_stop_another_patients_sharing(browser: Any, patient: Api, other_patient: Api) -> None:
    clinician = await named_clinician(browser)
    made = await submit(patient, "/sharing/code", {})
    code = re.search(r'<p class="big-code">([^<]+)</p>', made.text).group(1)  # type: ignore[union-attr]
    link = (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).json()
    assert link["scopes"] == ["view"]
    response = await submit(other_patient, f"/sharing/{link['id']}/revoke", {})
    assert response.status_code == 404
    assert [x["status"] for x in (await patient.get("/api/v1/care-links")).json()] == ["active"]


# ---- account ---------------------------------------------------------------------------------------------------------


async def test_settings_form_switches_the_pages_to_spanish(patient: Api) -> None:
    response = await submit(patient, "/account/settings", {"language": "es", "time_zone": "Atlantic/Canary",
                                                           "conditions": ["multiple_sclerosis"]})  # fmt: skip
    assert response.status_code == 200, response.text
    assert html_lang(response.text) == "es"
    assert spanish("Settings saved.") in response.text
    profile = (await patient.get("/api/v1/profile")).json()
    assert (profile["language"], profile["time_zone"], profile["conditions"]) == (
        "es",
        "Atlantic/Canary",
        ["multiple_sclerosis"],
    )
    log = await page(patient, "/log", **{"accept-language": "en"})  # the profile wins over the browser
    assert html_lang(log.text) == "es"
    assert headings(log.text) == [spanish("Log a spasm")]
    assert spanish("Tap at least one place on the body.") in log.text
    assert "Log a spasm" not in log.text
    # A Spanish patient's form errors are in Spanish too.
    refused = await submit(patient, "/log", {"id": str(uuid.uuid4())})
    assert alert_items(refused.text) == [
        spanish("Choose how strong it was, from 0 to 10."),
        spanish("Tap at least one place on the body."),
    ]


async def test_a_spanish_patient_reads_checkin_errors_in_spanish(patient: Api) -> None:
    await submit(patient, "/account/settings", {"language": "es", "time_zone": "Europe/Madrid"})
    day = today().isoformat()
    not_a_number = await submit(patient, f"/check-in/{day}", {"temperature_c": "warm"})
    assert not_a_number.status_code == 422
    assert alert_items(not_a_number.text) == [spanish("The temperature must be a number such as 37.5.")]
    too_hot = await submit(patient, f"/check-in/{day}", {"temperature_c": "50"})
    assert too_hot.status_code == 422
    assert html_lang(too_hot.text) == "es"
    [message] = alert_items(too_hot.text)
    assert "30" in message and "45" in message
    assert message != "The temperature must be between 30 and 45 °C.", "English on a Spanish page"


async def test_a_spanish_patient_reads_the_erase_refusal_in_spanish(patient: Api) -> None:
    await submit(patient, "/account/settings", {"language": "es", "time_zone": "Europe/Madrid"})
    response = await submit(patient, "/account/erase", {"password": "not my password", "confirm": "borrar mi cuenta"})
    assert response.status_code == 403
    assert html_lang(response.text) == "es"
    [message] = alert_items(response.text)
    assert message != "That password is not right. Nothing was erased.", "English on a Spanish page"
    assert (await patient.get("/api/v1/profile")).status_code == 200


async def test_settings_form_refuses_an_unknown_time_zone(patient: Api) -> None:
    for zone in ("Mars/Olympus_Mons", "", "Europe/", "../../etc/passwd"):
        response = await submit(patient, "/account/settings", {"language": "es", "time_zone": zone})
        assert response.status_code == 422, (zone, response.status_code)
        assert "That time zone is unknown" in response.text
    profile = (await patient.get("/api/v1/profile")).json()
    assert (profile["language"], profile["time_zone"]) == ("en", "Europe/Madrid")


async def test_settings_form_refuses_zones_the_api_refuses(patient: Api) -> None:
    """The API and registration accept only IANA names (validation.known_time_zone); "localtime" would mean the
    server's own zone. The settings form must follow the same rule."""
    for zone in ("localtime", "Factory", "posixrules"):
        api_answer = await patient.put("/api/v1/profile", json={"conditions": ["other"], "time_zone": zone},
                                       headers={"If-Match": '"1"'})  # fmt: skip
        assert api_answer.status_code == 422, zone
        response = await submit(patient, "/account/settings", {"language": "en", "time_zone": zone})
        assert response.status_code == 422, (zone, response.status_code)
    assert (await patient.get("/api/v1/profile")).json()["time_zone"] == "Europe/Madrid"


async def test_erase_form_with_the_wrong_password_keeps_the_account(patient: Api) -> None:
    response = await submit(patient, "/account/erase", {"password": "not my password", "confirm": "erase my account"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert alert_items(response.text) == ["That password is not right. Nothing was erased."]
    assert headings(response.text) == ["My data and settings"]
    wrong_words = await submit(patient, "/account/erase", {"password": patient.user["password"], "confirm": "yes"})  # type: ignore[index]
    assert wrong_words.status_code == 422
    assert (await patient.get("/api/v1/profile")).status_code == 200


async def erase_and_check(browser: Any, api: Api, confirm: str) -> None:
    token = api.client.cookies["spasm_session"]
    email, password = api.user["email"], api.user["password"]  # type: ignore[index]
    response = await submit(api, "/account/erase", {"password": password, "confirm": confirm})
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    assert response.headers["location"] == "/sign-in?erased=1"
    assert (await api.get("/api/v1/profile")).status_code == 401
    replay: Api = await browser()
    replay.client.cookies.set("spasm_session", token, domain="testserver.local", path="/")
    assert (await replay.client.get("/api/v1/profile")).status_code == 401
    again: Api = await browser()
    await again.refresh_csrf()
    signed = await again.post("/api/v1/auth/sign-in", json={"email": email, "password": password})
    assert signed.status_code in (400, 401), signed.status_code
    goodbye = await page(api, "/sign-in?erased=1")
    assert "Your account and diary were erased." in goodbye.text


async def test_erase_form_with_password_and_phrase_erases_the_account(browser: Any, patient: Api) -> None:
    await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    await erase_and_check(browser, patient, "  Erase My Account ")


async def test_erase_form_accepts_the_spanish_phrase_for_a_spanish_profile(browser: Any, patient: Api) -> None:
    await submit(patient, "/account/settings", {"language": "es", "time_zone": "Europe/Madrid"})
    account = await page(patient, "/account")
    assert spanish('Type "erase my account" to confirm') in html.unescape(account.text)
    await erase_and_check(browser, patient, spanish("erase my account"))


# ---- diary and trends ------------------------------------------------------------------------------------------------


def day_sections(text: str) -> dict[str, str]:
    """Each day section of the diary page: its date id and its content."""
    return dict(re.findall(r'<section aria-labelledby="d-(\d{4}-\d{2}-\d{2})">(.*?)</section>', text, re.S))


async def test_history_groups_episodes_by_day_with_links(patient: Api) -> None:
    now = today()
    one, three, old = now - dt.timedelta(days=1), now - dt.timedelta(days=3), now - dt.timedelta(days=20)
    first = await put_episode(patient, local_noon(one) - dt.timedelta(hours=3), intensity=3)
    second = await put_episode(patient, local_noon(one) + dt.timedelta(hours=6), intensity=8, kind="cramp")
    third = await put_episode(patient, local_noon(three), body_sites=[{"site": "neck", "side": "middle"}])
    far = await put_episode(patient, local_noon(old))
    await patient.put(f"/api/v1/checkins/{three.isoformat()}", json={"no_episodes": False, "stiffness": 4})

    response = await page(patient, "/history")
    assert response.status_code == 200
    sections = day_sections(response.text)
    assert list(sections) == [one.isoformat(), three.isoformat()]  # newest first, empty days left out
    assert f'<h2 id="d-{one.isoformat()}">{one.strftime("%d/%m/%Y")}</h2>' in response.text
    links_one = re.findall(rf'href="/episodes/({UUID})"', sections[one.isoformat()])
    assert links_one == [second["id"], first["id"]]
    assert re.findall(rf'href="/episodes/({UUID})"', sections[three.isoformat()]) == [third["id"]]
    assert "8/10" in sections[one.isoformat()] and "Cramp" in sections[one.isoformat()]
    assert "stiffness 4/10" in sections[three.isoformat()]
    assert far["id"] not in response.text

    earlier = re.search(r'href="/history\?before=(\d{4}-\d{2}-\d{2})"', response.text)
    assert earlier is not None
    older = await page(patient, f"/history?before={earlier.group(1)}")
    assert list(day_sections(older.text)) == [old.isoformat()]
    assert re.findall(rf'href="/episodes/({UUID})"', older.text) == [far["id"]]


def bar_values(svg: str) -> dict[str, int]:
    return {label: int(value) for label, value in re.findall(r"<rect [^>]*><title>([^<:]+): (\d+)</title></rect>", svg)}


async def test_trends_count_the_diary_for_each_period(patient: Api) -> None:
    now = today()
    made = [
        (1, ["fatigue", "stress"], [{"kind": "stretching", "relief": 6}]),
        (1, ["fatigue"], [{"kind": "stretching", "relief": 2}, {"kind": "heat"}]),
        (5, ["heat"], []),
        (20, ["fatigue"], [{"kind": "rest", "relief": 9}]),
        (60, [], []),
        (120, ["stress"], []),
    ]
    for days_ago, triggers, treatments in made:
        await put_episode(patient, local_noon(now - dt.timedelta(days=days_ago)), triggers=triggers,
                          treatments=treatments)  # fmt: skip
    await patient.put(f"/api/v1/checkins/{(now - dt.timedelta(days=2)).isoformat()}",
                      json={"no_episodes": True, "stiffness": 7})  # fmt: skip

    for period in (14, 30, 90):
        response = await page(patient, f"/trends?days={period}")
        assert response.status_code == 200
        assert re.search(rf'href="/trends\?days={period}" aria-current="page"', response.text)
        charts = re.findall(r"<svg\b.*?</svg>", response.text, re.S)
        assert len(charts) == 2
        counts, stiffness = bar_values(charts[0]), bar_values(charts[1])
        assert len(counts) == period and len(stiffness) == period
        inside = [(d, t, tr) for d, t, tr in made if d < period]
        assert sum(counts.values()) == len(inside)
        for days_ago in {d for d, _, _ in inside}:
            label = (now - dt.timedelta(days=days_ago)).strftime("%d/%m")
            assert counts[label] == sum(1 for d, _, _ in inside if d == days_ago), (period, label)
        assert stiffness[(now - dt.timedelta(days=2)).strftime("%d/%m")] == 7
        assert sum(stiffness.values()) == 7
        assert f"{len(inside) * 7 / period:.1f} a week on average" in response.text

        trigger_rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", response.text))
        expected: dict[str, int] = {}
        for _, triggers, _ in inside:
            for t in triggers:
                expected[t] = expected.get(t, 0) + 1
        labels = {"fatigue": "Tiredness", "stress": "Stress or worry", "heat": "Being hot"}
        assert trigger_rows == {labels[k]: str(v) for k, v in expected.items()}, (period, trigger_rows)

        helped = {label: (times, relief) for label, times, relief in re.findall(
            r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]+)</td></tr>", response.text)}  # fmt: skip
        assert helped["Stretching"] == ("2", "4.0")
        assert helped["Heat"] == ("1", "–")
        assert ("Rest" in helped) == (period > 20)

    fallback = await page(patient, "/trends?days=7")
    assert len(bar_values(re.findall(r"<svg\b.*?</svg>", fallback.text, re.S)[0])) == 30


async def test_an_empty_diary_has_calm_pages(patient: Api) -> None:
    history = await page(patient, "/history")
    assert "Nothing logged in this period." in history.text
    trends = await page(patient, "/trends")
    assert "0.0 a week on average" in trends.text
    assert "No triggers noted yet." in trends.text
    home = await page(patient, "/")
    assert home.status_code == 200
