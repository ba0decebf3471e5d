"""The treatment plan, dose answers, trends and registration in a real Chromium on a 390x844 phone (issue 16 part B):
a medicine added on the plan page is named by its reminder in the inbox, "Taken" answered there shows in the plan's
adherence; the trends page's value axis and its label sizes as drawn; what a new user sees there; registration with
condition, language and zone; Spanish reminders; axe on every page; screenshots to look at."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, api, assert_no_violations, log_episode, new_patient, screenshot

LONDON = ZoneInfo("Europe/London")  # the zone new_patient registers people in

# Each drawn label's size on the screen: its font size in the SVG's units times the SVG's scale on the page.
LABEL_SIZES = """() => [...document.querySelectorAll('svg.trend-chart')].flatMap((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
})"""


def open_until_shown(page: Page, url: str, text: str, seconds: float = 20) -> None:
    """Opens ``url`` again until ``text`` is on it: the reminders of a plan are planned just after its write (the
    evaluator every diary write schedules), not inside it."""
    deadline = time.monotonic() + seconds
    page.goto(url)
    while not page.get_by_text(text).count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.goto(url)
    expect(page.get_by_text(text).first).to_be_visible()


def next_minute_time() -> tuple[str, dt.datetime]:
    """A time of day one to two minutes ahead on the patient's clock, and its instant."""
    moment = (dt.datetime.now(LONDON) + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    return moment.strftime("%H:%M"), moment


def test_a_medicine_added_is_named_by_its_reminder_and_taken_from_the_inbox(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/more")
    phone.get_by_role("link", name="My treatment plan").tap()
    expect(phone.locator("h1")).to_have_text("My treatment plan")
    assert_no_violations(phone)
    phone.get_by_role("link", name="Add a medicine or treatment").tap()
    time_of_day, due = next_minute_time()
    phone.get_by_label("Name").fill("Baclofen")
    phone.get_by_label("Dose (optional)").fill("10 mg")
    phone.get_by_label("What kind of treatment").select_option("muscle_relaxant")
    phone.get_by_label("Time 1", exact=True).fill(time_of_day)
    phone.get_by_label("Why you take it (optional)").fill("Spasms at night")
    assert_no_violations(phone)
    screenshot(phone, "plan-form")
    phone.get_by_role("button", name="Save").tap()
    expect(phone.locator(".ok")).to_have_text("Saved. Your reminders follow the new plan.")
    expect(phone.locator(".plan-item h3")).to_have_text("Baclofen 10 mg")
    assert_no_violations(phone)
    screenshot(phone, "plan")

    title = f"Baclofen 10 mg at {time_of_day}"
    open_until_shown(phone, "/reminders", title)  # coming up, named with its medicine and dose
    # Once its time has come, it waits in "Now" with the three answers.
    while dt.datetime.now(dt.UTC) < due.astimezone(dt.UTC):
        time.sleep(2)
    phone.reload()
    now = phone.locator("section[aria-labelledby=due-title]")
    expect(now.get_by_text(title, exact=True)).to_be_visible()
    expect(now.get_by_role("button", name=f"Remind me later ({title})")).to_be_visible()
    assert_no_violations(phone)
    screenshot(phone, "inbox-medicine")
    now.get_by_role("button", name=f"Taken ({title})").tap()
    expect(now.locator(".dose-answer")).to_have_text("Taken")
    doses = api(phone.context, "GET", "/api/v1/doses/", expect=200)
    assert [(d["scheduled_for"][-5:], d["status"]) for d in doses] == [(time_of_day, "taken")]

    phone.goto("/plan")
    expect(phone.locator(".adherence")).to_contain_text("1 of 1 answered doses taken (100%)")
    screenshot(phone, "plan-adherence")


def test_the_trends_axis_and_label_sizes_as_drawn(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    for days_ago, strength in ((0, 6), (1, 4), (1, 7), (3, 5), (9, 8), (16, 5)):
        log_episode(phone.context, minutes_ago=days_ago * 24 * 60 + 30, intensity=strength)
    day = (dt.datetime.now(LONDON).date() - dt.timedelta(days=2)).isoformat()
    api(phone.context, "PUT", f"/api/v1/checkins/{day}", json={"no_episodes": True, "stiffness": 6}, expect=201)
    phone.goto("/trends?days=14")
    expect(phone.locator("h1")).to_have_text("My trends")
    charts = phone.locator("svg.trend-chart")
    expect(charts).to_have_count(3)
    ticks = phone.locator("svg.trend-chart").first.locator("text.tick").all_text_contents()
    assert ticks == ["0", "1", "2"], ticks
    assert phone.locator("svg.trend-chart").nth(2).locator("text.tick").all_text_contents() == ["0", "5", "10"]
    sizes = phone.evaluate(LABEL_SIZES)
    assert sizes and min(sizes) >= 11, sizes
    print(f"trend label sizes on a 390 px phone: {min(sizes):.1f}-{max(sizes):.1f} px ({len(sizes)} labels)")
    expect(phone.locator(".trends-compare")).to_contain_text("5 episodes in the last 14 days, 1 in the 14 before.")
    assert_no_violations(phone)
    screenshot(phone, "trends")
    phone.set_viewport_size({"width": 320, "height": 700})
    narrow = phone.evaluate(LABEL_SIZES)
    assert min(narrow) >= 11, narrow
    print(f"trend label sizes at 320 px: {min(narrow):.1f} px at least")


def test_a_new_user_is_told_what_the_trends_will_show(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/trends")
    expect(phone.get_by_role("heading", name="What you will see here")).to_be_visible()
    expect(phone.locator(".trends-new")).to_contain_text("Your charts appear after 3 days with an entry.")
    expect(phone.locator("svg.trend-chart")).to_have_count(0)
    assert_no_violations(phone)
    screenshot(phone, "trends-new-user")


def test_registration_with_condition_language_and_zone(new_phone: Any, browser_errors: Any) -> None:
    page: Page = new_phone()
    page.goto("/register")
    assert_no_violations(page)
    page.get_by_label("Your name").fill("Ana")
    email = f"ana-{uuid.uuid4().hex[:10]}@example.org"
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Multiple sclerosis").check()
    page.get_by_label("Language of the app and its reminders").select_option("es")
    page.get_by_label("Time zone").select_option("America/Mexico_City")
    expect(page.get_by_role("heading", name="Your health data")).to_be_visible()
    screenshot(page, "register")
    page.get_by_role("button", name="Create account").tap()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    profile = api(page.context, "GET", "/api/v1/profile/", expect=200)
    assert (profile["conditions"], profile["language"], profile["time_zone"]) == (
        ["multiple_sclerosis"],
        "es",
        "America/Mexico_City",
    )


def test_the_zone_list_starts_at_the_phones_zone(new_phone: Any, browser_errors: Any) -> None:
    page: Page = new_phone(timezone_id="Europe/Madrid")
    page.goto("/register")
    assert page.get_by_label("Time zone").input_value() == "Europe/Madrid"


def test_spanish_reminders(phone_es: Page, browser_errors: Any) -> None:
    new_patient(phone_es.context, language="es")
    time_of_day, _due = next_minute_time()
    body = {"kind": "muscle_relaxant", "name": "Baclofeno", "dose": "5 mg", "times": [time_of_day]}
    api(phone_es.context, "PUT", f"/api/v1/regimens/{uuid.uuid4()}", json={**body, "start_date": "2026-01-01"})
    open_until_shown(phone_es, "/reminders", f"Baclofeno 5 mg a las {time_of_day}")
    assert_no_violations(phone_es)
    phone_es.goto("/plan")
    expect(phone_es.locator("h1")).to_have_text("Mi plan de tratamiento")
    assert_no_violations(phone_es)
    screenshot(phone_es, "plan-es")
