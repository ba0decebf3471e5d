"""The patient app in a real Chromium on a phone: three taps to log, the offline outbox, Spanish, and axe on every page.

Taps are counted: each test that logs does it with exactly the taps it names, nothing typed.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import api, assert_no_violations, log_episode, new_patient


def episodes(context: BrowserContext) -> list[dict[str, Any]]:
    return api(context, "GET", "/api/v1/episodes?limit=500", expect=200)["items"]


def tap_log(page: Page, strength: int, place: str) -> None:
    """Three taps: the strength, a place on the body picture, Save ("now" is already chosen)."""
    page.locator(".scale label").filter(has_text=str(strength)).first.tap()
    page.locator(".bodymap label").filter(has_text=place).first.tap()
    page.get_by_role("button", name="Save", exact=True).tap()


def wait_for_worker(page: Page) -> None:
    """The service worker installed (shell and articles precached) and controlling this page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


def test_an_episode_is_logged_in_three_taps(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/")
    phone.get_by_role("link", name="Log a spasm").first.tap()
    expect(phone.locator("h1")).to_have_text("Log a spasm")
    tap_log(phone, 6, "Left: calf")
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    saved = episodes(phone.context)
    assert len(saved) == 1
    assert saved[0]["intensity"] == 6
    assert saved[0]["body_sites"] == [{"site": "calf", "side": "left"}]
    assert saved[0]["kind"] == "spasm"
    # "Add details" leads to the episode's own page, where triggers and what helped are added.
    phone.locator("#saved-details").tap()
    expect(phone.locator("h1")).to_have_text("Episode details")
    phone.get_by_label("Tiredness").check()
    phone.get_by_label("Heat", exact=True).check()
    phone.locator(".chips label").filter(has_text="A lot").tap()
    phone.get_by_role("button", name="Save details").tap()
    expect(phone.locator(".ok")).to_have_text("Saved.")
    detail = episodes(phone.context)[0]
    assert detail["triggers"] == ["fatigue"]
    assert detail["treatments"][0]["kind"] == "heat" and detail["treatments"][0]["relief"] == 7


def test_a_missed_choice_is_explained_and_nothing_is_sent(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/log")
    phone.locator(".scale label").filter(has_text="4").first.tap()
    phone.get_by_role("button", name="Save", exact=True).tap()
    expect(phone.get_by_role("alert")).to_contain_text("Tap at least one place on the body.")
    assert episodes(phone.context) == []


def test_offline_entries_wait_on_the_phone_and_reach_the_server_once(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    phone.goto("/")
    wait_for_worker(phone)
    phone.goto("/log")  # visited once online, so that its page is kept for offline use
    expect(phone.locator("h1")).to_have_text("Log a spasm")

    context.set_offline(True)
    browser_errors.allow(r"ERR_INTERNET_DISCONNECTED", r"Failed to fetch", r"net::ERR")
    for strength, place in ((3, "Left: calf"), (5, "Right: calf"), (7, "Left: foot")):
        tap_log(phone, strength, place)
        expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")
        phone.goto("/log")
    expect(phone.locator("#outbox-status")).to_have_text("3 entries waiting to be sent")
    assert episodes(context) == []  # the API call goes around the browser's offline switch: nothing arrived yet

    phone.close()  # the app is closed while still offline
    reopened = context.new_page()
    reopened.goto("/log")
    expect(reopened.locator("h1")).to_have_text("Log a spasm")
    expect(reopened.locator("#outbox-status")).to_have_text("3 entries waiting to be sent")
    reopened.goto("/learn/self-care")
    expect(reopened.locator("h1")).to_be_visible()
    reopened.goto("/learn")
    expect(reopened.locator(".cards li")).to_have_count(6)

    context.set_offline(False)
    reopened.evaluate("window.dispatchEvent(new Event('online'))")
    expect(reopened.locator("#outbox-status")).to_be_hidden(timeout=15_000)
    arrived = episodes(context)
    assert sorted(e["intensity"] for e in arrived) == [3, 5, 7]
    assert len({e["id"] for e in arrived}) == 3
    # Opening the app again sends nothing twice.
    reopened.goto("/")
    reopened.wait_for_load_state("networkidle")
    assert len(episodes(context)) == 3


def test_an_edit_based_on_a_stale_version_shows_both_versions(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    made = log_episode(context, minutes_ago=90, intensity=4, note="first words")
    phone.goto(f"/episodes/{made['id']}")
    # Meanwhile another device changes the same episode.
    changed = {k: v for k, v in made.items() if k not in {"id", "version", "received_at", "updated_at", "safety"}}
    changed["note"] = "changed on the tablet"
    api(context, "PUT", f"/api/v1/episodes/{made['id']}", json=changed, expect=200, if_match=made["version"])
    browser_errors.allow(r"status of 409")  # the page that shows both versions answers 409 Conflict, on purpose
    phone.get_by_label("Anything else (optional)").fill("changed on the phone")
    phone.get_by_role("button", name="Save details").tap()
    expect(phone.get_by_role("heading", name="This entry was changed somewhere else")).to_be_visible()
    expect(phone.locator(".compare")).to_contain_text("changed on the tablet")
    expect(phone.locator(".compare")).to_contain_text("changed on the phone")
    assert episodes(context)[0]["note"] == "changed on the tablet"


def test_the_interface_speaks_spanish(phone_es: Page, browser_errors: Any) -> None:
    new_patient(phone_es.context, language="es")
    phone_es.goto("/log")
    assert phone_es.locator("html").get_attribute("lang") == "es"
    expect(phone_es.locator("h1")).not_to_have_text("Log a spasm")
    expect(phone_es.get_by_role("button", name="Guardar", exact=True)).to_be_visible()
    phone_es.goto("/learn")
    expect(phone_es.locator(".cards li").first).to_contain_text("Espasmos")
    assert_no_violations(phone_es)


PATIENT_PAGES = [
    "/",
    "/log",
    "/history",
    "/trends",
    "/more",
    "/check-in",
    "/penn",
    "/sharing",
    "/account",
    "/reminders",
    "/sharing/history",
    "/learn",
    "/learn/when-to-seek-help",
    "/offline",
]


def test_every_patient_page_passes_axe(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    made = log_episode(
        phone.context,
        minutes_ago=30,
        kind="cramp",
        duration_seconds=15 * 60,
        intensity=8,
        body_sites=[{"site": "calf", "side": "left"}],
    )
    failures = []
    for path in [*PATIENT_PAGES, f"/episodes/{made['id']}"]:
        response = phone.goto(path)
        assert response is not None and response.status == 200, path
        try:
            assert_no_violations(phone)
        except AssertionError as error:
            failures.append(f"{path}: {error}")
    assert not failures, "\n".join(failures)


def test_touch_targets_are_at_least_48_css_pixels(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    small = []
    for path in ("/log", "/check-in", "/"):
        phone.goto(path)
        for handle in phone.locator("main button, main a.button, .chip span, .spot, .tabs a").all():
            box = handle.bounding_box()
            if box is not None and (box["height"] < 48 or box["width"] < 48):
                small.append(f"{path}: {handle.inner_text()!r} {box['width']:.0f}x{box['height']:.0f}")
    assert not small, small


def test_logging_works_with_the_keyboard_alone(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/log")
    phone.locator('input[name="intensity"][value="2"]').focus()
    phone.keyboard.press("Space")
    phone.locator('input[name="where"][value="hand:right"]').focus()
    phone.keyboard.press("Space")
    phone.get_by_role("button", name="Save", exact=True).focus()
    phone.keyboard.press("Enter")
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    assert episodes(phone.context)[0]["body_sites"] == [{"site": "hand", "side": "right"}]


def test_a_check_in_made_offline_arrives_when_back_online(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    phone.goto("/")
    wait_for_worker(phone)
    phone.goto("/check-in")
    day = phone.locator("#checkin-form").get_attribute("data-day")
    context.set_offline(True)
    browser_errors.allow(r"ERR_INTERNET_DISCONNECTED", r"Failed to fetch", r"net::ERR")
    phone.reload()
    expect(phone.locator("h1")).to_have_text("Daily check-in")
    phone.locator("fieldset").filter(has_text="How stiff").locator("label").filter(has_text="6").first.tap()
    phone.get_by_role("button", name="Save check-in").tap()
    expect(phone.locator(".ok")).to_contain_text("Saved on this phone")
    assert api(context, "GET", f"/api/v1/checkins/{day}", expect=404) is not None
    context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#outbox-status")).to_be_hidden(timeout=15_000)
    assert api(context, "GET", f"/api/v1/checkins/{day}", expect=200)["stiffness"] == 6


def test_the_log_page_opens_offline_even_if_it_was_never_visited(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    phone.goto("/")
    wait_for_worker(phone)
    phone.wait_for_function("caches.open('pages').then((c) => c.match('/log')).then((r) => !!r)")
    context.set_offline(True)
    browser_errors.allow(r"ERR_INTERNET_DISCONNECTED", r"Failed to fetch", r"net::ERR")
    phone.goto("/log")
    expect(phone.locator("h1")).to_have_text("Log a spasm")
    tap_log(phone, 5, "Right: calf")
    expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")


def test_entries_waiting_at_sign_out_stay_on_the_phone_and_arrive_after_signing_in_again(
    phone: Page, browser_errors: Any
) -> None:
    context = phone.context
    patient = new_patient(context)
    phone.goto("/log")
    browser_errors.allow(r"Failed to fetch", r"net::ERR")
    # The server cannot be reached for writes, from the page or from the service worker's Background Sync.
    context.route("**/api/v1/episodes/*", lambda route: route.abort())
    tap_log(phone, 8, "Left: calf")
    expect(phone.locator("#outbox-status")).to_have_text("1 entry waiting to be sent")
    answers = ["dismiss", "accept"]
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if answers.pop(0) == "dismiss" else dialog.accept()

    phone.on("dialog", answer)
    phone.get_by_role("button", name="Sign out").click()
    for _ in range(50):
        if asked:
            break
        phone.wait_for_timeout(100)
    assert asked and "not reached the server" in asked[0]
    expect(phone.locator("h1")).to_have_text("Log a spasm")  # dismissed: still signed in
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.locator("h1")).to_have_text("Sign in")
    assert len(asked) == 2
    context.unroute("**/api/v1/episodes/*")
    phone.get_by_label("E-mail").fill(patient["email"])
    phone.get_by_label("Password").fill(patient["password"])
    phone.get_by_role("button", name="Sign in").tap()
    expect(phone.locator("h1")).to_contain_text("Hello")
    arrived: list[dict[str, Any]] = []
    for _ in range(150):  # the app sends it when it opens; the status line starts hidden, so wait for the server
        arrived = episodes(context)
        if arrived:
            break
        phone.wait_for_timeout(100)
    assert [(e["intensity"], e["body_sites"]) for e in arrived] == [(8, [{"site": "calf", "side": "left"}])]
    expect(phone.locator("#outbox-status")).to_be_hidden()
