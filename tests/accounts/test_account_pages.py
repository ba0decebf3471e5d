"""The patient's data and settings page (backend/accounts/account_pages.py): language, time zone, erasing."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any

from tests.conftest import Api
from tests.support.pages import (
    alert_items,
    headings,
    html_lang,
    local_noon,
    page,
    put_episode,
    save_settings,
    spanish,
    submit,
    today,
)

# ---- account ---------------------------------------------------------------------------------------------------------


async def test_settings_form_switches_the_pages_to_spanish(patient: Api) -> None:
    response = await save_settings(
        patient, {"language": "es", "time_zone": "Atlantic/Canary", "conditions": ["multiple_sclerosis"]}
    )
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
    await save_settings(patient, {"language": "es", "time_zone": "Europe/Madrid"})
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
    await save_settings(patient, {"language": "es", "time_zone": "Europe/Madrid"})
    response = await submit(patient, "/account/erase", {"password": "not my password", "confirm": "borrar mi cuenta"})
    assert response.status_code == 403
    assert html_lang(response.text) == "es"
    [message] = alert_items(response.text)
    assert message != "That password is not right. Nothing was erased.", "English on a Spanish page"
    assert (await patient.get("/api/v1/profile")).status_code == 200


async def test_settings_form_refuses_an_unknown_time_zone(patient: Api) -> None:
    for zone in ("Mars/Olympus_Mons", "", "Europe/", "../../etc/passwd"):
        response = await save_settings(patient, {"language": "es", "time_zone": zone})
        assert response.status_code == 422, (zone, response.status_code)
        assert "That time zone is unknown" in response.text
    profile = (await patient.get("/api/v1/profile")).json()
    assert (profile["language"], profile["time_zone"]) == ("en", "Europe/Madrid")


async def test_settings_form_refuses_zones_the_api_refuses(patient: Api) -> None:
    """The API and registration accept only IANA names (validation.known_time_zone); "localtime" would mean the
    server's own zone. The settings form must follow the same rule."""
    for zone in ("localtime", "Factory", "posixrules"):
        api_answer = await patient.put(
            "/api/v1/profile", json={"conditions": ["other"], "time_zone": zone}, headers={"If-Match": '"1"'}
        )
        assert api_answer.status_code == 422, zone
        response = await save_settings(patient, {"language": "en", "time_zone": zone})
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
    await save_settings(patient, {"language": "es", "time_zone": "Europe/Madrid"})
    account = await page(patient, "/account")
    assert spanish('Type "erase my account" to confirm') in html.unescape(account.text)
    await erase_and_check(browser, patient, spanish("erase my account"))
