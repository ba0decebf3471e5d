"""The episode pages (backend/diary/pages.py): the log form, an episode's details, deleting; every form works without
script and writes through the same rules as the JSON API."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
import uuid

from tests.conftest import Api
from tests.support.pages import (
    UUID,
    alert_items,
    checked_values,
    episodes,
    headings,
    hidden,
    local_noon,
    page,
    put_episode,
    save_settings,
    submit,
    today,
)

# ---- the log form ----------------------------------------------------------------------------------------------------


async def test_log_form_without_script_creates_one_episode(patient: Api) -> None:
    form_page = await page(patient, "/log")
    episode_id = hidden(form_page.text, "id", "/log")
    assert re.fullmatch(UUID, episode_id)
    kind = hidden(form_page.text, "kind", "/log")
    assert kind == "spasm"  # a patient without a cramp condition logs spasms by default
    data = {
        "_csrf": hidden(form_page.text, "_csrf", "/log"),
        "id": episode_id,
        "kind": kind,
        "ago": "15",
        "intensity": "7",
        "where": ["calf:left", "thigh:right"],
        "started_at": "",
        "duration_seconds": "",
    }
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
    changed = await save_settings(
        patient, {"language": "en", "time_zone": "Europe/Madrid", "conditions": ["night_cramps"]}
    )
    assert changed.status_code == 200, changed.text
    form_page = await page(patient, "/log")
    assert hidden(form_page.text, "kind", "/log") == "cramp"
    data = {
        "id": hidden(form_page.text, "id", "/log"),
        "kind": "cramp",
        "ago": "0",
        "intensity": "4",
        "where": "calf:right",
    }
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
    await save_settings(patient, {"language": "es", "time_zone": "Europe/Madrid"})
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
    for field, value in (
        ("duration_minutes", "1441"),
        ("duration_minutes", "soon"),
        ("intensity", "12"),
        ("duration_minutes", "1e999"),
        ("relief", "inf"),
    ):
        data = {"version": "1", "kind": "spasm", "intensity": "5", "where": "calf:left", field: value}
        response = await submit(patient, url, data)
        assert response.status_code == 422, (field, value, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        label = {"duration_minutes": "Minutes", "intensity": "Strength", "relief": "What you did"}[field]
        assert any(item.startswith(f"{label}: ") for item in alert_items(response.text)), (field, value)
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
    replay = await patient.put(
        f"/api/v1/episodes/{episode['id']}",
        json={k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")},
    )
    assert replay.status_code == 410


async def test_delete_form_with_a_stale_version_deletes_nothing(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)))
    body = {k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")}
    await patient.put(f"/api/v1/episodes/{episode['id']}", json={**body, "intensity": 9}, headers={"If-Match": '"1"'})
    response = await submit(patient, f"/episodes/{episode['id']}/delete", {"version": "1"})
    assert response.status_code == 412
    assert response.headers["content-type"].startswith("text/html")
    assert (await patient.get(f"/api/v1/episodes/{episode['id']}")).json()["intensity"] == 9
