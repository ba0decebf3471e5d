"""The daily check-in and the weekly Penn rating pages (backend/diary/checkin_pages.py), without script."""

from __future__ import annotations

import datetime as dt

from backend.shared import formats
from tests.conftest import Api
from tests.support.pages import (
    alert_items,
    checked_values,
    headings,
    hidden,
    iso_week,
    page,
    submit,
    today,
    urgent_notices,
)

# ---- daily check-in --------------------------------------------------------------------------------------------------


async def test_checkin_form_saves_what_was_typed(patient: Api) -> None:
    day = today()
    form_page = await page(patient, "/check-in")
    assert f'action="/check-in/{day.isoformat()}"' in form_page.text
    assert formats.day(day, "en", weekday=True) in form_page.text  # "Saturday 5 Dec 2026"
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
        label = {"stiffness": "Stiffness", "pain": "Pain", "systolic_bp": "Blood pressure"}[field]
        assert any(item.startswith(f"{label}: ") for item in alert_items(response.text)), (field, value)
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
