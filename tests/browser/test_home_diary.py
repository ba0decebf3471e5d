"""Home and the diary on a 390x844 phone: Today first, advice folded with "I've read this" while urgent advice stays
open until read, the diary by day with weekdays, "Today" and "Yesterday", days without entries, a missed check-in
filled in from there, the details in the rows; a check-in that contradicts the diary refused with a message; the
tab bar at 320 px; Spanish advice in the rule's own words."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import api, assert_no_violations, log_episode, new_patient, screenshot

LONDON = ZoneInfo("Europe/London")


def home_with_flags(page: Page, count: int) -> None:
    """Home once the rules have raised `count` flags (they run just after the write that raises them)."""
    for _ in range(50):
        page.goto("/")
        if page.locator("li.flag").count() >= count:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"fewer than {count} flags on home")


def test_today_comes_first_and_routine_advice_folds_while_urgent_advice_stays(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    log_episode(phone.context, minutes_ago=30, kind="cramp", duration_seconds=15 * 60)  # U1: longer than 10 minutes
    log_episode(phone.context, minutes_ago=90, symptoms=["muscle_wasting"])  # R8: muscles getting smaller
    home_with_flags(phone, 2)
    headings = phone.locator("main h2").all_inner_texts()
    assert headings[0] == "Please read now" and headings[1].startswith("Today, ")
    assert headings.index("Advice for you") > 1
    urgent = phone.locator("#urgent-advice + ul .flag")
    expect(urgent.get_by_role("alert")).to_be_visible()  # not folded: it stays open until read
    routine = phone.locator("#advice + ul .flag")
    expect(routine).to_have_count(1)
    expect(routine.locator("details")).not_to_have_attribute("open", "")
    expect(routine.get_by_role("button", name="I've read this")).to_be_hidden()
    routine.locator("summary").tap()
    expect(routine.get_by_role("button", name="I've read this")).to_be_visible()
    screenshot(phone, "home-today-first")
    assert_no_violations(phone)
    routine.get_by_role("button", name="I've read this").tap()
    expect(phone.locator("#advice")).to_have_count(0)
    expect(phone.locator("#urgent-advice + ul .flag")).to_have_count(1)  # urgent advice stays until it is read
    phone.locator("#urgent-advice + ul").get_by_role("button", name="I've read this").tap()
    expect(phone.locator("#urgent-advice")).to_have_count(0)
    expect(phone.locator("details.read-flags summary")).to_have_text("2 pieces of advice you have read")


def test_the_diary_shows_every_day_with_its_weekday_and_fills_in_a_missed_check_in(
    phone: Page, browser_errors: Any
) -> None:
    context = phone.context
    new_patient(context)
    log_episode(context, minutes_ago=24 * 60 + 5, triggers=["fatigue"], note="after the long walk")
    phone.goto("/history")
    days = phone.locator("#days section.day h2")
    expect(days.first).to_have_text("Today")
    expect(days.nth(1)).to_have_text("Yesterday")
    today = dt.datetime.now(LONDON).date()
    three_ago = today - dt.timedelta(days=3)
    expect(days.nth(3)).to_have_text(three_ago.strftime("%A ") + str(three_ago.day) + three_ago.strftime(" %b"))
    assert days.count() == 14  # days without entries are shown too
    yesterday = phone.locator("#days section.day").nth(1)
    expect(yesterday.locator(".entries .details")).to_contain_text("Tiredness")
    expect(yesterday.locator(".entries .details")).to_contain_text("after the long walk")
    screenshot(phone, "diary-by-day")
    assert_no_violations(phone)
    # A missed check-in, filled in from the diary: the check-in page of that very day.
    phone.locator("#days section.day").nth(3).get_by_role("link", name="No check-in: fill it in").tap()
    expect(phone.locator("#checkin-form")).to_have_attribute("data-day", three_ago.isoformat())
    phone.locator("fieldset").filter(has_text="How stiff").locator("label").filter(has_text="3").first.tap()
    phone.get_by_role("button", name="Save check-in").tap()
    expect(phone.locator(".ok")).to_contain_text("Saved")
    assert api(context, "GET", f"/api/v1/checkins/{three_ago}")["stiffness"] == 3
    phone.goto("/history")
    expect(phone.locator("#days section.day").nth(3)).to_contain_text("stiffness 3/10")


def test_a_check_in_that_contradicts_the_diary_is_refused_with_a_message(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    log_episode(context, minutes_ago=5)
    browser_errors.allow(r"status of 422")
    phone.goto("/check-in")
    phone.get_by_label("No spasms or cramps today").check()
    phone.get_by_role("button", name="Save check-in").tap()
    expect(phone.get_by_role("alert")).to_contain_text("your diary already has episodes on this day")
    day = phone.locator("#checkin-form").get_attribute("data-day")
    assert api(context, "GET", f"/api/v1/checkins/{day}", expect=404) is not None
    assert_no_violations(phone)


def test_the_tab_bar_labels_never_run_together_at_320_px(new_phone: Callable[..., Page], browser_errors: Any) -> None:
    for locale, headers in (("en-GB", {}), ("es-ES", {"Accept-Language": "es-ES,es;q=0.9"})):
        phone = new_phone(locale, viewport={"width": 320, "height": 640}, extra_http_headers=headers)
        new_patient(phone.context, language=locale[:2])
        phone.goto("/")
        boxes = [t.bounding_box() for t in phone.locator("nav.tabs a").all()]
        texts = phone.evaluate(
            "[...document.querySelectorAll('nav.tabs a')].map((a) => {"
            " const r = document.createRange(); r.selectNodeContents(a); const b = r.getBoundingClientRect();"
            " return [b.left, b.right, a.scrollWidth <= a.clientWidth]; })"
        )
        for (left, right, fits), box in zip(texts, boxes, strict=True):
            assert box is not None and fits
            assert box["x"] <= left and right <= box["x"] + box["width"] + 0.5, (locale, left, right, box)
        for (_, right, _), (left, _, _) in itertools.pairwise(texts):
            assert right < left, (locale, texts)
        screenshot(phone, f"tabs-320-{locale}")


def test_home_speaks_spanish_with_each_flags_own_words(phone_es: Page, browser_errors: Any) -> None:
    context = phone_es.context
    new_patient(context, language="es")
    log_episode(context, minutes_ago=30, kind="cramp", duration_seconds=15 * 60)  # U1
    log_episode(context, minutes_ago=90, symptoms=["muscle_wasting"])  # R8
    home_with_flags(phone_es, 2)
    expect(phone_es.locator("#urgent-advice + ul .flag")).to_contain_text("Un episodio duró más de 10 minutos")
    routine = phone_es.locator("#advice + ul .flag")
    expect(routine.locator("summary")).to_have_text(
        "Has notado que algunos músculos se ven más pequeños o se están debilitando."
    )
    expect(phone_es.locator("#today")).to_contain_text("Hoy, ")
    expect(phone_es.locator(".entries .when").first).to_have_text(re.compile(r"^\d{1,2} \w+, \d{2}:\d{2}$"))
    assert "AM" not in phone_es.locator("main").inner_text() and "PM" not in phone_es.locator("main").inner_text()
    screenshot(phone_es, "home-spanish-flags")
    assert_no_violations(phone_es)
