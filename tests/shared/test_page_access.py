"""Who may open the patient's pages: the patient, not a stranger (sent to sign in), not a clinician, not another
patient (their episode looks missing)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tests.conftest import Api
from tests.support.pages import (
    JSON,
    episodes,
    headings,
    html_lang,
    local_noon,
    page,
    patient_forms,
    patient_pages,
    put_episode,
    submit,
    today,
)

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
