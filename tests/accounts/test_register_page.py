"""Registering from the page asks a patient's condition(s), language and time zone (chosen from lists) and shows a
short notice about health data; the profile is made with them by the same service as the API (accounts/services)."""

from __future__ import annotations

import re
from typing import Any

from tests.accounts.test_pages import HTML, csrf_field, form_post, new_browser, register_data


def options(text: str, name: str) -> list[str]:
    block = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', text, re.S)
    assert block is not None, name
    return re.findall(r'<option value="([^"]+)"', block.group(1))


async def test_the_page_offers_lists_and_says_what_happens_to_health_data(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    assert page.status_code == 200
    zones = options(page.text, "time_zone")
    assert "Europe/Madrid" in zones and "America/Mexico_City" in zones and zones[0] == "UTC"
    assert "localtime" not in zones and not any(z.startswith(("Etc/", "US/")) for z in zones)
    assert options(page.text, "language") == ["en", "es"]
    conditions = re.findall(r'name="conditions" value="([a-z_]+)"', page.text)
    assert set(conditions) >= {"multiple_sclerosis", "spinal_cord_injury", "night_cramps"}
    assert "Your health data" in page.text and "erase your account" in page.text
    spanish = await api.client.get("/register", headers={**HTML, "accept-language": "es"})
    assert "Tus datos de salud" in spanish.text and '<option value="es" selected' in spanish.text


async def test_the_profile_is_made_with_the_answers(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    data: dict[str, Any] = {
        **register_data(page, time_zone="America/Mexico_City", language="es"),
        "conditions": ["multiple_sclerosis", "night_cramps"],
    }
    answer = await form_post(api, "/register", data)
    assert answer.status_code == 303, answer.text
    profile = await api.client.get("/api/v1/profile/", headers={"accept": "application/json"})
    body = profile.json()
    assert (body["time_zone"], body["language"]) == ("America/Mexico_City", "es")
    assert body["conditions"] == ["multiple_sclerosis", "night_cramps"]
    home = await api.client.get("/", headers=HTML)
    assert 'lang="es"' in home.text


async def test_a_refused_form_keeps_the_choices(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    data: dict[str, Any] = {
        **register_data(page, time_zone="Mars/Olympus_Mons", language="es", password="short"),
        "conditions": ["stroke", "not_a_condition"],
    }
    refused = await form_post(api, "/register", data)
    assert refused.status_code == 400
    assert re.search(r'value="stroke" checked', refused.text)
    assert "not_a_condition" not in refused.text
    assert '<option value="es" selected' in refused.text
    assert csrf_field(refused)
    later = await api.client.get("/api/v1/auth/session")
    assert later.json()["user"] is None
