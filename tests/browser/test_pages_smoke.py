"""Every browser page there is today, on a phone in a real Chromium: it loads, says what it is, and axe-core finds no
WCAG 2.2 AA (or best-practice) violation in it. A console error or an uncaught exception fails the test too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_violations, link, log_episode, new_clinician, new_patient


def open_page(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    page.wait_for_load_state("load")


def diary_with_content(page: Page) -> dict[str, Any]:
    """A patient whose home and report have something in every part: episodes, and an urgent flag with its advice."""
    patient = new_patient(page.context, display_name="Ana Patient")
    log_episode(
        page.context,
        minutes_ago=30,
        kind="cramp",
        duration_seconds=15 * 60,
        intensity=8,
        body_sites=[{"site": "calf", "side": "left"}],
    )
    log_episode(page.context, minutes_ago=26 * 60, intensity=3)
    return patient


def test_sign_in_page(phone: Page) -> None:
    open_page(phone, "/sign-in")
    expect(phone.locator("h1")).to_have_text("Sign in")
    expect(phone.get_by_label("E-mail")).to_be_visible()
    assert_no_violations(phone)


def test_register_page(phone: Page) -> None:
    open_page(phone, "/register")
    expect(phone.locator("h1")).to_have_text("Create an account")
    assert_no_violations(phone)


def test_sign_in_page_on_a_spanish_phone(phone_es: Page) -> None:
    open_page(phone_es, "/sign-in")
    assert phone_es.evaluate("navigator.language") == "es-ES"
    expect(phone_es.locator("html")).to_have_attribute("lang", "es")  # from the phone's Accept-Language
    expect(phone_es.locator("h1")).to_be_visible()
    assert_no_violations(phone_es)


def test_patient_home(phone: Page) -> None:
    patient = diary_with_content(phone)
    open_page(phone, "/")
    expect(phone.locator("h1")).to_contain_text(patient["display_name"])
    assert_no_violations(phone)


def test_clinician_home(new_phone: Callable[..., Page]) -> None:
    patient_phone, clinician_phone = new_phone(), new_phone()
    patient = diary_with_content(patient_phone)
    new_clinician(clinician_phone.context, display_name="Dr Test")
    link(patient_phone.context, clinician_phone.context)
    open_page(clinician_phone, "/")
    expect(clinician_phone.locator("h1")).to_have_text("My patients")
    expect(clinician_phone.get_by_role("link", name=patient["display_name"])).to_be_visible()
    assert_no_violations(clinician_phone)


def test_linked_patients_report(new_phone: Callable[..., Page]) -> None:
    patient_phone, clinician_phone = new_phone(), new_phone()
    patient = diary_with_content(patient_phone)
    new_clinician(clinician_phone.context)
    link(patient_phone.context, clinician_phone.context)
    open_page(clinician_phone, f"/patients/{patient['id']}/report")
    expect(clinician_phone.locator("h1")).to_have_text(patient["display_name"])
    assert_no_violations(clinician_phone)
