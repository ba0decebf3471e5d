"""Account security in a real Chromium, without a line of the tests' own script in the pages: a patient who forgot
their password gets a link by e-mail (the live server's real SMTP, aiosmtpd) and is signed in with a new one, on a
phone; a clinician sets up two-step sign-in (the code computed here with pyotp, as an authenticator app would) and
signs in with it, on a laptop. Each page passes axe; the screenshots are kept in the test's tmp_path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, api, assert_no_violations, mail_to, new_clinician, new_patient
from tests.support.mail import Mailbox

LAPTOP: dict[str, Any] = {
    "viewport": {"width": 1366, "height": 768},
    "screen": {"width": 1366, "height": 768},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}
NEW_PASSWORD = "my new and rather long pass-phrase"


def shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    print(f"screenshot {name}: {path}")
    return path


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * steps_ahead))


def test_a_forgotten_password_is_replaced_through_a_link_by_e_mail(
    new_phone: Callable[..., Page], live_mailbox: Mailbox, browser_errors: Any, tmp_path: Path
) -> None:
    old_phone = new_phone()
    person = new_patient(old_phone.context)
    old_phone.goto("/")
    expect(old_phone.get_by_role("navigation", name="Main")).to_be_visible()  # signed in on the old phone

    phone = new_phone()
    phone.goto("/sign-in")
    phone.get_by_role("link", name="Forgot your password?").tap()
    expect(phone.locator("h1")).to_have_text("Forgot your password?")
    assert_no_violations(phone)
    phone.get_by_label("E-mail").fill(person["email"])
    phone.get_by_role("button", name="Send me a link").tap()
    expect(phone.get_by_role("status")).to_contain_text("we have sent it a link")
    shot(phone, tmp_path, "1-link-sent")

    mail = mail_to(live_mailbox, person["email"])
    assert mail.message["Subject"] == "Set a new password for your spasm diary"
    link = mail.link("/reset-password")
    phone.goto(link)
    expect(phone.locator("h1")).to_have_text("Choose a new password")
    assert_no_violations(phone)
    phone.get_by_label("New password").fill(NEW_PASSWORD)
    shot(phone, tmp_path, "2-new-password")
    phone.get_by_role("button", name="Save my new password").tap()

    expect(phone.get_by_role("navigation", name="Main")).to_be_visible()  # signed in, at home
    assert re.search(r"/$", phone.url), phone.url
    assert api(phone.context, "GET", "/api/v1/auth/session")["user"]["email"] == person["email"]
    shot(phone, tmp_path, "3-signed-in")
    phone.goto("/account")
    phone.get_by_role("link", name="Change password").tap()
    expect(phone.locator("h1")).to_have_text("Change password")
    assert_no_violations(phone)
    shot(phone, tmp_path, "4-change-password")

    # The old phone's session ended with the reset; the link works once; the old password is gone.
    browser_errors.allow(r"status of 400")  # a used link's page and a refused sign-in answer 400, on purpose
    assert api(old_phone.context, "GET", "/api/v1/auth/session")["user"] is None
    phone.goto(link)
    expect(phone.get_by_role("alert")).to_contain_text("has expired or has been used already")
    stranger = new_phone()
    stranger.goto("/sign-in")
    stranger.get_by_label("E-mail").fill(person["email"])
    stranger.get_by_label("Password").fill(PASSWORD)
    stranger.get_by_role("button", name="Sign in").tap()
    expect(stranger.get_by_role("alert")).to_contain_text("do not match an account")


def test_a_clinician_sets_up_two_step_sign_in_and_signs_in_with_it(
    new_phone: Callable[..., Page], browser_errors: Any, tmp_path: Path
) -> None:
    laptop = new_phone(**LAPTOP)
    clinician = new_clinician(laptop.context)
    laptop.goto("/")
    laptop.get_by_role("link", name="Sign-in settings").click()
    expect(laptop.locator("h1")).to_have_text("Sign-in and password")
    laptop.get_by_role("link", name="Two-step sign-in").click()
    expect(laptop.locator("h1")).to_have_text("Two-step sign-in")
    laptop.get_by_label("Your password").fill(clinician["password"])
    laptop.get_by_role("button", name="Set up two-step sign-in").click()

    expect(laptop.get_by_alt_text("QR code to scan with the authenticator app")).to_be_visible()
    assert_no_violations(laptop)
    secret = laptop.locator("code.key").inner_text().replace(" ", "")
    shot(laptop, tmp_path, "1-set-up")
    laptop.get_by_label("Code from the app").fill(code_at(secret))
    laptop.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(laptop.get_by_role("status")).to_contain_text("Two-step sign-in is on")
    codes = laptop.locator("ol.codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", c) for c in codes), codes
    assert_no_violations(laptop)
    shot(laptop, tmp_path, "2-recovery-codes")
    laptop.get_by_role("link", name="Continue to my patients").click()
    expect(laptop.locator("h1")).to_have_text("My patients")

    laptop.get_by_role("button", name="Sign out").click()
    expect(laptop.locator("h1")).to_have_text("Sign in")
    laptop.get_by_label("E-mail").fill(clinician["email"])
    laptop.get_by_label("Password").fill(clinician["password"])
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.locator("h1")).to_have_text("Two-step sign-in")
    assert laptop.url.endswith("/sign-in/code")
    assert api(laptop.context, "GET", "/api/v1/auth/session")["user"] is None  # the password alone is not enough
    assert_no_violations(laptop)
    laptop.get_by_label("Code").fill("000000")
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.get_by_role("alert")).to_contain_text("That code is not right")
    browser_errors.allow(r"status of 401")  # the wrong code's page answers 401, on purpose
    laptop.get_by_label("Code").fill(code_at(secret, 1))  # the next step: the set-up's code cannot be used again
    laptop.get_by_label("Do not ask again on this computer for 30 days").check()
    shot(laptop, tmp_path, "3-code")
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.locator("h1")).to_have_text("My patients")
    assert api(laptop.context, "GET", "/api/v1/auth/session")["user"]["email"] == clinician["email"]
    shot(laptop, tmp_path, "4-signed-in")

    # This computer is remembered: the next sign-in asks for the password only.
    laptop.get_by_role("button", name="Sign out").click()
    laptop.get_by_label("E-mail").fill(clinician["email"])
    laptop.get_by_label("Password").fill(clinician["password"])
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.locator("h1")).to_have_text("My patients")
