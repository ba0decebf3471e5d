"""Logging on a 390x844 phone, and offline that never breaks: the quick log inside the first screen with its taps
counted, Undo, "Add details" on an entry still waiting in the outbox, pages that stay on the phone whatever is
visited offline, and a property over sequences of offline visits, sign-outs, reloads and edits.

Taps are counted: each log is made with exactly the taps named, nothing typed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import api, assert_no_violations, log_episode, new_patient, screenshot

OFFLINE_ERRORS = (r"ERR_INTERNET_DISCONNECTED", r"Failed to fetch", r"net::ERR", r"status of 404")


def episodes(context: BrowserContext) -> list[dict[str, Any]]:
    return api(context, "GET", "/api/v1/episodes?limit=500", expect=200)["items"]


def wait_for_worker(page: Page) -> None:
    """The service worker installed (shell and articles precached) and controlling this page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


def kept_pages(page: Page) -> list[str]:
    return sorted(
        page.evaluate("caches.open('pages').then((c) => c.keys()).then((ks) => ks.map((r) => new URL(r.url).pathname))")
    )


def outbox(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("import('/static/outbox.js').then((o) => o.all('outbox'))"))


def in_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844, f"{selector} is outside the first screen: {box}"


def log_offline_ready(page: Page) -> None:
    """Home and the log page visited once online, the worker in control: what a patient has after a first visit."""
    page.goto("/")
    wait_for_worker(page)
    page.wait_for_function(
        "caches.open('pages').then((c) => Promise.all(['/', '/log', '/history', '/episodes/draft'].map((p) => c.match(p))))"
        ".then((found) => found.every(Boolean))"
    )
    page.goto("/")  # the home page itself, kept by the worker now that it controls the page


def spot(page: Page, place: str) -> Locator:
    """The place on the body picture: the control named so (its word on the picture may be shorter)."""
    return page.locator("label.spot").filter(has=page.get_by_role("checkbox", name=place, exact=True))


def tap_log(page: Page, strength: int, place: str) -> int:
    """The quick log: the strength, one place of the body picture, Save. Answers the number of taps."""
    page.locator(".scale label").filter(has_text=re.compile(rf"^{strength}$")).first.tap()
    spot(page, place).tap()
    page.locator("#save-episode").tap()
    return 3


def test_add_details_offline_edits_the_waiting_copy_and_every_page_stays(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    log_offline_ready(phone)
    assert {"/", "/episodes/draft", "/log"} <= set(kept_pages(phone))

    context.set_offline(True)
    browser_errors.allow(*OFFLINE_ERRORS)
    phone.goto("/log")
    tap_log(phone, 6, "Left: calf")
    expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")
    # "Add details" offline: the details of the waiting copy, not the offline page.
    phone.locator("#saved-details").tap()
    expect(phone.locator("h1")).to_have_text("Episode details")
    expect(phone.locator("#draft-note")).to_contain_text("still waiting on this phone")
    expect(phone.locator('#group-when input[value="calf:left"]')).to_be_checked()
    phone.get_by_label("Tiredness").check()
    phone.get_by_label("Anything else (optional)").fill("after the stairs")
    phone.get_by_role("button", name="Save details").tap()
    expect(phone.locator(".ok")).to_contain_text("Saved on this phone")
    screenshot(phone, "offline-details-of-a-waiting-entry")

    # The offline page itself deletes nothing (it used to empty the kept pages).
    phone.goto("/offline")
    expect(phone.locator("h1")).to_have_text("You are offline")
    phone.goto("/not-kept-anywhere")
    expect(phone.locator("h1")).to_have_text("You are offline")
    assert {"/", "/episodes/draft", "/log"} <= set(kept_pages(phone))

    # Home and the log page still open offline; home marks the waiting entry; a second entry is logged.
    phone.goto("/")
    expect(phone.locator("h1")).to_contain_text("Hello")
    expect(phone.locator("#waiting-list li")).to_have_count(1)
    expect(phone.locator("#waiting-list")).to_contain_text("Waiting to be sent")
    expect(phone.locator("#waiting-list")).to_contain_text("Left: calf")
    phone.goto("/log")
    tap_log(phone, 3, "Right: foot")
    expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")
    phone.goto("/history")
    expect(phone.locator("#pending-list li")).to_have_count(2)
    assert len(outbox(phone)) == 2
    assert episodes(context) == []  # the API call goes around the browser's offline switch: nothing arrived yet

    # Back online: both arrive exactly once, the first with its details; the diary shows them as soon as they do.
    context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#pending")).to_be_hidden(timeout=15_000)
    expect(phone.locator("#days .entries li")).to_have_count(2, timeout=15_000)
    arrived = sorted(episodes(context), key=lambda e: e["intensity"])
    assert [e["intensity"] for e in arrived] == [3, 6]
    assert arrived[1]["triggers"] == ["fatigue"] and arrived[1]["note"] == "after the stairs"
    assert arrived[1]["body_sites"] == [{"site": "calf", "side": "left"}]
    phone.goto("/")
    phone.wait_for_load_state("networkidle")
    assert len(episodes(context)) == 2
    expect(phone.locator("#waiting-list")).to_be_hidden()


def test_add_details_online_before_the_entry_was_sent_opens_the_waiting_copy(phone: Page, browser_errors: Any) -> None:
    context = phone.context
    new_patient(context)
    log_offline_ready(phone)
    browser_errors.allow(*OFFLINE_ERRORS)
    # Writes cannot reach the server (from the page or the worker): the entry keeps waiting while the phone is online.
    context.route("**/api/v1/episodes/*", lambda route: route.abort())
    phone.goto("/log")
    tap_log(phone, 5, "Right: calf")
    expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")
    phone.locator("#saved-details").tap()
    expect(phone.locator("h1")).to_have_text("Episode details")
    expect(phone.locator('#group-when input[value="calf:right"]')).to_be_checked()
    context.unroute("**/api/v1/episodes/*")
    phone.get_by_label("Heat", exact=True).check()
    phone.get_by_role("button", name="Save details").tap()
    expect(phone.locator(".ok")).to_be_visible()
    for _ in range(150):
        if not outbox(phone):
            break
        phone.wait_for_timeout(100)
    assert outbox(phone) == []
    (saved,) = episodes(context)
    assert saved["intensity"] == 5 and [t["kind"] for t in saved["treatments"]] == ["heat"]


def test_a_sign_out_offers_no_way_to_lose_pages_of_someone_else(new_phone: Callable[..., Page]) -> None:
    """Another person signing in on the phone is the one case that empties the kept pages (they were not theirs)."""
    phone = new_phone()
    context = phone.context
    new_patient(context)
    log_offline_ready(phone)
    assert "/" in kept_pages(phone)
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.locator("h1")).to_have_text("Sign in")
    phone.wait_for_function("caches.open('pages').then((c) => c.keys()).then((k) => k.length === 0)")
    new_patient(context)
    phone.goto("/")
    expect(phone.locator("h1")).to_contain_text("Hello")


# ---- the outbox property ---------------------------------------------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.integers(0, 10)),
        st.tuples(st.just("edit"), st.integers(0, 9)),
        st.tuples(st.just("visit"), st.sampled_from(["/", "/log", "/history", "/offline", "/learn", "/more"])),
        st.tuples(st.just("reload"), st.just(0)),
        st.tuples(st.just("sign-out-and-in"), st.just(0)),
    ),
    min_size=2,
    max_size=7,
)


@settings(
    max_examples=4 if os.environ.get("CI") else 6,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(actions=ACTIONS)
def test_no_sequence_of_offline_visits_sign_outs_reloads_and_edits_loses_a_waiting_entry(
    new_phone: Callable[..., Page], browser_errors: Any, actions: list[tuple[str, Any]]
) -> None:
    # A round of the outbox caught by the sign-out is answered 401 (and stops, keeping every entry).
    browser_errors.allow(*OFFLINE_ERRORS, r"status of 401")
    phone = new_phone()
    context = phone.context
    patient = new_patient(context)
    phone.on("dialog", lambda dialog: dialog.accept())  # "some entries have not reached the server": sign out anyway
    log_offline_ready(phone)
    context.set_offline(True)
    expected: dict[str, dict[str, Any]] = {}  # id -> what the server must end up with
    for action, value in actions:
        if action == "log":
            phone.goto("/log")
            tap_log(phone, value, "Left: calf")
            expect(phone.locator("#saved-text")).to_contain_text("Saved on this phone")
            entry_id = phone.locator("#saved-details").get_attribute("href").rsplit("/", 1)[1]  # type: ignore[union-attr]
            expected[entry_id] = {"intensity": value, "note": None}
        elif action == "edit" and expected:
            entry_id = sorted(expected)[value % len(expected)]
            phone.goto(f"/episodes/{entry_id}")
            expect(phone.locator("#episode-form")).to_be_visible()
            note = f"edit {value}"
            phone.get_by_label("Anything else (optional)").fill(note)
            phone.get_by_role("button", name="Save details").tap()
            expect(phone.locator(".ok")).to_contain_text("Saved on this phone")
            expected[entry_id]["note"] = note
        elif action == "visit":
            phone.goto(value)
        elif action == "reload":
            phone.reload()
        elif action == "sign-out-and-in":
            # Online only for this, with writes held back, so the entries are still waiting when the same person
            # signs in again.
            context.route("**/api/v1/episodes/*", lambda route: route.abort())
            context.set_offline(False)
            phone.goto("/more")
            phone.get_by_role("button", name="Sign out").click()
            expect(phone.locator("h1")).to_have_text("Sign in")
            phone.get_by_label("E-mail").fill(patient["email"])
            phone.get_by_label("Password").fill(patient["password"])
            phone.get_by_role("button", name="Sign in").tap()
            expect(phone.locator("h1")).to_contain_text("Hello")
            log_offline_ready(phone)
            context.set_offline(True)
            context.unroute("**/api/v1/episodes/*")
        waiting = {e["key"].split(":")[1] for e in outbox(phone)}
        assert set(expected) == waiting, f"after {action} {value}: waiting {waiting}, logged {set(expected)}"
    context.set_offline(False)
    phone.goto("/history")
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    for _ in range(150):
        if not outbox(phone):
            break
        phone.wait_for_timeout(100)
    arrived = {e["id"]: {"intensity": e["intensity"], "note": e["note"]} for e in episodes(context)}
    assert arrived == expected


def test_the_log_page_passes_axe_with_a_waiting_entry(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    log_episode(phone.context, minutes_ago=30)
    phone.goto("/")
    assert_no_violations(phone)


# ---- the quick log ---------------------------------------------------------------------------------------------


def test_a_quick_log_is_three_taps_inside_the_first_screen(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/log")
    screenshot(phone, "log-first-screen")
    # Every strength, every place of the body picture and Save are inside the first screen, with no scrolling.
    for selector in (".scale label", "#save-episode"):
        for n in range(phone.locator(selector).count()):
            in_viewport(phone, f"{selector} >> nth={n}")
    spots = phone.locator(".bodymap .spot")
    assert spots.count() == 28
    for n in range(spots.count()):
        box = spots.nth(n).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844 - 56 - 64, box
        assert box["width"] >= 48 and box["height"] >= 48, box
    # Words are never broken: each word of the picture fits its control.
    overflowing = phone.evaluate(
        "[...document.querySelectorAll('.spot .word')].filter((w) => w.scrollWidth > w.clientWidth + 1)"
        ".map((w) => w.textContent)"
    )
    assert overflowing == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate("window.scrollY") == 0
    taps = tap_log(phone, 6, "Left: calf")
    assert taps == 3
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    in_viewport(phone, "#saved-details")
    in_viewport(phone, "#saved-undo")
    tabs = phone.locator("nav.tabs").bounding_box()
    panel = phone.locator("#saved").bounding_box()
    assert tabs is not None and panel is not None and panel["y"] + panel["height"] <= tabs["y"] + 1
    screenshot(phone, "log-saved")
    (saved,) = episodes(phone.context)
    assert saved["intensity"] == 6 and saved["body_sites"] == [{"site": "calf", "side": "left"}]

    # The next time: "same as last time" and the usual places come first; same as last time is two taps.
    phone.goto("/log")
    expect(phone.get_by_role("group", name="Your usual places")).to_contain_text("Left: calf")
    phone.locator("label.same").tap()
    expect(spot(phone, "Left: calf").get_by_role("checkbox")).to_be_checked()
    phone.locator("#save-episode").tap()
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    assert [(e["intensity"], e["body_sites"]) for e in episodes(phone.context)] == [
        (6, [{"site": "calf", "side": "left"}])
    ] * 2


def test_undo_takes_the_entry_away_and_offers_nothing_more(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/log")
    tap_log(phone, 4, "Right: hand or fingers")
    expect(phone.locator("#saved-text")).to_have_text("Saved and sent to your diary.")
    phone.locator("#saved-undo").tap()
    expect(phone.locator("#saved-title")).to_have_text("Undone")
    expect(phone.locator("#saved-undo")).to_be_hidden()
    expect(phone.locator("#saved-details")).to_be_hidden()
    for _ in range(100):
        if not episodes(phone.context):
            break
        phone.wait_for_timeout(100)
    assert episodes(phone.context) == []
    phone.locator("#saved-close").tap()
    expect(phone.locator("#saved")).to_be_hidden()


def test_the_list_view_shows_every_place_in_words(phone: Page, browser_errors: Any) -> None:
    new_patient(phone.context)
    phone.goto("/log")
    phone.get_by_label("As a list").check()
    expect(phone.locator(".spot .name").filter(has_text="Left: back of thigh")).to_be_visible()
    expect(phone.locator(".figure").first).to_be_hidden()
    screenshot(phone, "log-as-a-list")
    assert_no_violations(phone)


def test_the_log_form_works_without_script(new_phone: Callable[..., Page], browser_errors: Any) -> None:
    phone = new_phone(java_script_enabled=False, service_workers="block")
    new_patient(phone.context)
    phone.goto("/log")
    phone.locator(".scale label").filter(has_text=re.compile(r"^7$")).first.click()
    spot(phone, "Right: calf").click()
    phone.locator("#save-episode").click()
    expect(phone.locator("h1")).to_have_text("Episode details")
    expect(phone.locator(".ok")).to_have_text("Saved.")
    (saved,) = episodes(phone.context)
    assert saved["intensity"] == 7 and saved["body_sites"] == [{"site": "calf", "side": "right"}]
    # "Same as last time" without script: the server fills in last time's strength and places.
    phone.goto("/log")
    phone.get_by_label(re.compile("Same as last time")).check()
    phone.locator("#save-episode").click()
    expect(phone.locator(".ok")).to_have_text("Saved.")
    assert sorted(e["intensity"] for e in episodes(phone.context)) == [7, 7]


def test_the_log_page_in_spanish_fits_its_words(phone_es: Page, browser_errors: Any) -> None:
    new_patient(phone_es.context, language="es")
    phone_es.goto("/log")
    assert phone_es.evaluate("document.documentElement.scrollWidth") <= 390
    overflowing = phone_es.evaluate(
        "[...document.querySelectorAll('.spot .word')].filter((w) => w.scrollWidth > w.clientWidth + 1)"
        ".map((w) => w.textContent)"
    )
    assert overflowing == []
    in_viewport(phone_es, "#save-episode")
    screenshot(phone_es, "log-first-screen-es")
    assert_no_violations(phone_es)


# ---- episode details in groups ---------------------------------------------------------------------------------


def test_episode_details_come_in_groups_that_open_with_the_patients_own_choices(
    phone: Page, browser_errors: Any
) -> None:
    context = phone.context
    new_patient(context)
    profile = api(context, "GET", "/api/v1/profile")
    body = {"conditions": ["multiple_sclerosis"], "time_zone": profile["time_zone"], "language": profile["language"]}
    api(context, "PUT", "/api/v1/profile", json=body, if_match=profile["version"])
    for minutes in (300, 200):
        log_episode(context, minutes_ago=minutes, triggers=["full_bladder"], impacts=["fall"])
    made = log_episode(context, minutes_ago=30)
    phone.goto(f"/episodes/{made['id']}")
    groups = phone.locator("details.group > summary")
    expect(groups).to_have_text(
        [
            "When, how strong and where",
            "What set it off?",
            "What you did, and did it help?",
            "How it affected you",
        ]
    )
    # The patient's own frequent trigger is the first choice of its group.
    first = phone.locator("#group-triggers label.choice").first
    expect(first).to_have_text("Full bladder")
    expect(first).to_have_class(re.compile("usual"))
    # Warning signs are always in view of the form, not folded away.
    expect(phone.get_by_role("heading", name="Warning signs")).to_be_visible()
    expect(phone.get_by_label("Trouble breathing")).to_be_visible()
    screenshot(phone, "episode-details-groups")
    assert_no_violations(phone)
    # The advice for a warning sign comes back in the answer to that very write.
    phone.get_by_label("Trouble breathing").check()
    phone.get_by_role("button", name="Save details").tap()
    expect(phone.get_by_role("alert").first).to_contain_text("trouble breathing or swallowing")
