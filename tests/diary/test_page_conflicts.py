"""Changed in two places: the page keeps the patient's answers, and saving again keeps them on top of the other."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Api
from tests.support.pages import hidden, local_noon, put_episode, submit, today


async def test_saving_the_conflict_page_again_keeps_the_patients_version(patient: Api) -> None:
    episode = await put_episode(patient, local_noon(today() - dt.timedelta(days=1)), note="first")
    url = f"/api/v1/episodes/{episode['id']}"
    body = {k: episode[k] for k in ("kind", "started_at", "intensity", "body_sites")}
    elsewhere = await patient.put(url, json={**body, "note": "from the tablet"}, headers={"If-Match": '"1"'})
    assert elsewhere.status_code == 200
    form = {"version": "1", "kind": "cramp", "intensity": "7", "where": "calf:right", "note": "from the phone"}
    conflict = await submit(patient, f"/episodes/{episode['id']}", form)
    assert conflict.status_code == 409
    assert (await patient.get(url)).json()["note"] == "from the tablet"  # nothing saved yet
    assert hidden(conflict.text, "version", f"/episodes/{episode['id']}") == "2"  # on top of the saved one
    assert ">from the phone</textarea>" in conflict.text  # the patient's words are still in the form
    again = await submit(patient, f"/episodes/{episode['id']}", {**form, "version": "2"})
    assert again.status_code == 303
    kept = (await patient.get(url)).json()
    assert (kept["note"], kept["kind"], kept["intensity"], kept["version"]) == ("from the phone", "cramp", 7, 3)


async def test_a_check_in_saved_elsewhere_meanwhile_keeps_the_answers_on_the_page(patient: Api) -> None:
    day = today()
    form_page = (await patient.get("/check-in")).text
    assert hidden(form_page, "version", f"/check-in/{day}") == ""
    elsewhere = await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True, "stiffness": 1})
    assert elsewhere.status_code == 201
    answer = await submit(patient, f"/check-in/{day}", {"version": "", "stiffness": "6", "pain": "3"})
    assert answer.status_code == 409
    assert hidden(answer.text, "version", f"/check-in/{day}") == "1"
    assert 'name="stiffness" value="6"  checked' in answer.text or 'value="6" checked' in answer.text.replace("  ", " ")
    assert (await patient.get(f"/api/v1/checkins/{day}")).json()["stiffness"] == 1
    again = await submit(patient, f"/check-in/{day}", {"version": "1", "stiffness": "6", "pain": "3"})
    assert again.status_code == 303
    assert (await patient.get(f"/api/v1/checkins/{day}")).json()["stiffness"] == 6
