"""Flags as people meet them, in Chromium: a patient with multiple sclerosis adds "trouble breathing" to a quick log
and is told at once (phone); "I've read this" folds the advice away; a clinician resolves an urgent flag with a note,
sees it in the history, and the patient's next quick spasm does not bring it back (laptop); "no spasms today" against
a day with episodes, on the check-in page and on the log page (phone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import api, assert_no_violations, link, log_episode, new_clinician, new_patient, screenshot


def conditions(context: BrowserContext, *codes: str) -> None:
    profile = api(context, "GET", "/api/v1/profile")
    body = {"conditions": list(codes), "time_zone": profile["time_zone"], "language": profile["language"]}
    api(context, "PUT", "/api/v1/profile", json=body, if_match=profile["version"])


def test_trouble_breathing_added_after_a_quick_log_is_answered_on_the_page(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    conditions(phone.context, "multiple_sclerosis")
    phone.goto("/log")
    phone.locator(".scale label").filter(has_text="5").first.tap()
    phone.locator(".bodymap label").filter(has_text="Left: calf").first.tap()
    phone.get_by_role("button", name="Save", exact=True).tap()
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    phone.locator("#saved-details").tap()
    expect(phone.get_by_role("heading", name="Warning signs")).to_be_visible()
    phone.get_by_label("Trouble breathing").check()
    phone.get_by_role("button", name="Save details").tap()
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("trouble breathing or swallowing")
    expect(alert).to_contain_text("Get medical help now")
    screenshot(phone, "flags-ms-breathing-answered")
    assert_no_violations(phone)


def test_ive_read_this_folds_the_advice_away(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    log_episode(phone.context, minutes_ago=30, kind="cramp", duration_seconds=15 * 60)
    phone.goto("/")
    advice = phone.locator("#urgent-advice + ul .flag")
    expect(advice).to_have_count(1)
    expect(advice.get_by_role("alert")).to_contain_text("more than 10 minutes")
    phone.get_by_role("button", name="I've read this").tap()
    expect(phone.locator("#urgent-advice")).to_have_count(0)
    folded = phone.locator("details.read-flags")
    expect(folded.locator("summary")).to_have_text("1 piece of advice you have read")
    folded.locator("summary").tap()
    expect(folded).to_contain_text("more than 10 minutes")
    screenshot(phone, "flags-read-folded")
    assert_no_violations(phone)


def test_a_resolution_sticks_and_its_note_shows_on_the_report(
    new_phone: Callable[..., Page], new_laptop: Callable[..., Page], browser_errors: Any
) -> None:
    patient = new_phone()
    new_patient(patient.context)
    desk = new_laptop()
    new_clinician(desk.context, display_name="Dr Ana Ruiz")
    link(patient.context, desk.context)
    log_episode(patient.context, minutes_ago=90, kind="cramp", duration_seconds=15 * 60)
    me = api(patient.context, "GET", "/api/v1/auth/session")["user"]

    desk.goto("/")
    expect(desk.get_by_role("row").filter(has_text="Test patient")).to_contain_text("Urgent")
    desk.get_by_role("link", name="Test patient").click()
    flag = desk.locator("li.flag").filter(has_text="U1")
    flag.get_by_label("Note").fill("Phoned: eased with stretching, no further action.")
    flag.get_by_role("button", name="Resolve").click()
    resolved = desk.locator("li.flag").filter(has_text="U1")
    expect(resolved).to_contain_text("Resolved by Dr Ana Ruiz")
    expect(resolved).to_contain_text("Phoned: eased with stretching, no further action.")
    resolved.locator("summary", has_text="History").click()
    expect(resolved.locator("ol.history li").last).to_contain_text("resolved by Dr Ana Ruiz")
    screenshot(desk, "flags-report-resolved")

    log_episode(patient.context, minutes_ago=5)  # an unrelated quick spasm
    desk.goto(f"/patients/{me['id']}/report")
    expect(desk.locator("li.flag.urgent").filter(has_text="U1")).to_contain_text("resolved")
    expect(desk.locator("li.flag").filter(has_text="U1")).to_have_count(1)
    desk.goto("/")
    expect(desk.get_by_role("row").filter(has_text="Test patient")).not_to_contain_text("Urgent")
    screenshot(desk, "flags-triage-after-resolution")
    assert_no_violations(desk)


# A refused form answers 422, which Chromium reports in the console; the page itself is the patient's answer.
@pytest.mark.allow_console_errors(r"status of 422")
def test_no_spasms_today_on_a_day_with_episodes_is_explained_and_the_answers_kept(
    phone: Page, browser_errors: Any
) -> None:
    new_patient(phone.context)
    log_episode(phone.context, minutes_ago=20)
    phone.goto("/check-in")
    phone.get_by_label("No spasms or cramps today").check()
    phone.locator("fieldset", has_text="How stiff").locator("label").filter(has_text="6").first.tap()
    phone.get_by_role("button", name="Save check-in").tap()
    expect(phone.get_by_role("alert")).to_contain_text("your diary already has episodes on this day (1)")
    expect(phone.get_by_label("No spasms or cramps today")).to_be_checked()
    expect(phone.locator('input[name="stiffness"][value="6"]')).to_be_checked()
    expect(phone.get_by_role("link", name="See the entries of this day in your diary")).to_be_visible()
    screenshot(phone, "checkin-contradiction")
    assert_no_violations(phone)


@pytest.mark.allow_console_errors(r"status of 422")
def test_a_spasm_on_a_no_spasms_day_waits_and_is_saved_with_one_tap(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/")
    today = dt.date.fromisoformat(phone.evaluate("new Date().toLocaleDateString('sv')"))  # the phone's own today
    api(phone.context, "PUT", f"/api/v1/checkins/{today}", json={"no_episodes": True, "stiffness": 2}, expect=201)
    phone.goto("/log")
    phone.locator(".scale label").filter(has_text="7").first.tap()
    phone.locator(".bodymap label").filter(has_text="Right: calf").first.tap()
    phone.get_by_role("button", name="Save", exact=True).tap()
    expect(phone.locator("#saved-text")).to_contain_text("so this entry is still waiting on your phone")
    screenshot(phone, "log-contradiction-offered")
    phone.get_by_role("button", name="Untick “no spasms or cramps” and save this").tap()
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    checkin = api(phone.context, "GET", f"/api/v1/checkins/{today}")
    assert checkin["no_episodes"] is False and checkin["stiffness"] == 2
    saved = api(phone.context, "GET", "/api/v1/episodes")["items"]
    assert [e["intensity"] for e in saved] == [7]
