"""Account security end to end, through the API as a browser would, with real e-mail (aiosmtpd): registration that
does not reveal accounts, changing the password, a reset link by e-mail, clinicians' two-step sign-in (TOTP codes
computed here with pyotp, recovery codes, remembered browsers, the requirement in production) and disabling an
account. Times are moved by changing the rows' limits in the database, as the passage of time would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
import pytest_asyncio
from litestar import Litestar
from sqlalchemy import select, update

from backend.accounts import two_step
from backend.accounts.models import (
    PasswordResetToken,
    RecoveryCode,
    RememberedDevice,
    SignInThrottle,
    TwoStepSecret,
    User,
    WebSession,
)
from backend.accounts.passwords import password_problem
from backend.accounts.throttle import code_key
from backend.app import create_app
from backend.config import ROOT
from tests.conftest import Api, make_settings
from tests.support.mail import Mail, Mailbox

NEW_PASSWORD = "a brand new pass-phrase"


@pytest_asyncio.fixture(loop_scope="session")
async def mail_app(database_url: str, smtp: tuple[Mailbox, int]) -> AsyncIterator[Litestar]:
    """An app on the test database whose settings name the SMTP server, with two-step sign-in required as in
    production (the production rule itself is tested below)."""
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_starttls=False, clinician_two_step=True
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        await app.state.evaluator.drain()
        await app.state.engine.dispose()


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    return smtp[0]


@pytest_asyncio.fixture(loop_scope="session")
async def people(mail_app: Litestar) -> AsyncIterator[Any]:
    """Browsers on the mail app: ``await people()`` is a fresh anonymous one, ``await people("patient")`` registers."""
    clients: list[httpx.AsyncClient] = []

    async def make(role: str | None = None, **fields: Any) -> Api:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://testserver.local")
        clients.append(client)
        api = Api(client)
        await api.refresh_csrf()
        if role:
            await api.register(role, **fields)
        return api

    yield make
    for client in clients:
        await client.aclose()


def email_of(api: Api) -> str:
    assert api.user is not None
    return str(api.user["email"])


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def signed_in(api: Api, path: str = "/api/v1/auth/session") -> bool:
    if path == "/api/v1/auth/session":
        return (await api.client.get(path)).json()["user"] is not None
    return (await api.client.get(path)).status_code == 200


async def sign_in(api: Api, email: str, password: str) -> httpx.Response:
    await api.refresh_csrf()
    response = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": password})
    if response.status_code == 200:
        api.csrf = response.json()["csrf_token"]
    return response


async def send_code(api: Api, code: str, remember: bool = False) -> httpx.Response:
    response = await api.post("/api/v1/auth/sign-in/code", json={"code": code, "remember_device": remember})
    if response.status_code == 200:
        api.csrf = response.json()["csrf_token"]
    return response


def only_mail(mailbox: Mailbox, to: str) -> Mail:
    mails = mailbox.to(to)
    assert len(mails) == 1, [m.message["Subject"] for m in mails]
    return mails[0]


def token_of(mail: Mail) -> str:
    link = mail.link("/reset-password")
    return parse_qs(urlsplit(link).query)["token"][0]


async def request_reset(api: Api, email: str) -> httpx.Response:
    return await api.post("/api/v1/auth/password-reset", json={"email": email})


async def complete_reset(api: Api, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    response = await api.post("/api/v1/auth/password-reset/complete", json={"token": token, "new_password": password})
    if response.status_code == 200:
        api.csrf = response.json()["csrf_token"]
    return response


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or that many 30-second steps later: a code already accepted cannot be
    used again, so a second sign-in within the same half-minute needs the next step's)."""
    return pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * steps_ahead))


async def with_two_step(api: Api) -> tuple[str, list[str]]:
    """Sets up two-step sign-in through the API; answers the secret and the recovery codes."""
    assert api.user is not None
    started = await api.post("/api/v1/account/two-step", json={"password": api.user["password"]})
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    confirmed = await api.post("/api/v1/account/two-step/confirm", json={"code": code_at(secret)})
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


# ---- registration ---------------------------------------------------------------------------------------------------


async def test_registering_a_taken_address_tells_its_owner_by_e_mail_only(people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    stranger = await people()
    response = await stranger.post(
        "/api/v1/auth/register",
        json={"email": email_of(owner).upper(), "password": "the impostor's phrase", "display_name": "Impostor"},
    )
    assert response.status_code == 201
    assert not await signed_in(stranger)
    mail = only_mail(mailbox, email_of(owner))
    assert mail.message["Subject"] == "Someone tried to register with your e-mail address"
    assert mail.link("/forgot-password")
    assert "Impostor" not in mail.text and "impostor's phrase" not in mail.text
    fresh = await people("patient")
    assert mailbox.to(email_of(fresh)) == []  # a new account gets no such mail


# ---- changing the password ------------------------------------------------------------------------------------------


async def test_changing_the_password_needs_the_current_one_and_ends_every_other_session(people: Any) -> None:
    phone = await people("patient")
    laptop = await people()
    assert (await sign_in(laptop, email_of(phone), phone.user["password"])).status_code == 200  # type: ignore[index]
    url = "/api/v1/account/password"

    wrong = await laptop.put(url, json={"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403 and [e["field"] for e in wrong.json()["errors"]] == ["current_password"]
    short = await laptop.put(url, json={"current_password": phone.user["password"], "new_password": "short"})  # type: ignore[index]
    assert short.status_code == 422 and [e["field"] for e in short.json()["errors"]] == ["new_password"]
    assert await signed_in(phone) and await signed_in(laptop)  # nothing changed

    changed = await laptop.put(url, json={"current_password": phone.user["password"], "new_password": NEW_PASSWORD})  # type: ignore[index]
    assert changed.status_code == 200, changed.text
    laptop.csrf = changed.json()["csrf_token"]
    assert changed.json()["user"]["email"] == email_of(phone)
    assert await signed_in(laptop)  # this browser carries on, on a fresh session
    assert not await signed_in(phone)  # every other one has ended
    assert (await sign_in(await people(), email_of(phone), phone.user["password"])).status_code == 401  # type: ignore[index]
    assert (await sign_in(await people(), email_of(phone), NEW_PASSWORD)).status_code == 200


# ---- a reset link by e-mail -----------------------------------------------------------------------------------------


async def test_asking_for_a_reset_answers_alike_whether_or_not_the_account_exists(
    people: Any, mailbox: Mailbox
) -> None:
    owner = await people("patient")
    stranger = await people()
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    known, unknown = await request_reset(stranger, email_of(owner)), await request_reset(stranger, nobody)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, known.json())
    assert known.headers["cache-control"] == unknown.headers["cache-control"] == "no-store"
    assert mailbox.to(nobody) == []
    mail = only_mail(mailbox, email_of(owner))
    assert mail.message["Subject"] == "Set a new password for your spasm diary"
    assert "30 minutes" in mail.text


async def test_a_reset_sets_the_password_signs_in_and_ends_an_attackers_session(
    mail_app: Litestar, people: Any, mailbox: Mailbox
) -> None:
    victim = await people("patient")
    attacker = await people()
    assert (await sign_in(attacker, email_of(victim), victim.user["password"])).status_code == 200  # type: ignore[index]
    assert await signed_in(attacker, "/api/v1/profile")

    assert (await request_reset(await people(), email_of(victim))).status_code == 202
    token = token_of(only_mail(mailbox, email_of(victim)))
    async with mail_app.state.sessionmaker() as db:
        stored = list((await db.execute(select(PasswordResetToken.token_hash))).scalars())
    assert sha256(token) in stored and token not in stored  # only a hash is kept

    here = await people()
    done = await complete_reset(here, token)
    assert done.status_code == 200, done.text
    assert done.json()["user"]["email"] == email_of(victim)
    assert await signed_in(here, "/api/v1/profile")
    assert not await signed_in(attacker, "/api/v1/profile")  # the attacker's session ended with the reset
    assert not await signed_in(victim, "/api/v1/profile")
    assert (await sign_in(await people(), email_of(victim), victim.user["password"])).status_code == 401  # type: ignore[index]
    assert (await sign_in(await people(), email_of(victim), NEW_PASSWORD)).status_code == 200


async def test_a_reset_link_works_once(people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    await request_reset(owner, email_of(owner))
    token = token_of(only_mail(mailbox, email_of(owner)))
    assert (await complete_reset(await people(), token)).status_code == 200
    again = await complete_reset(await people(), token, "yet another pass-phrase")
    assert again.status_code == 400 and again.json()["code"] == "reset-link-invalid"
    assert [e["field"] for e in again.json()["errors"]] == ["token"]
    assert (await sign_in(await people(), email_of(owner), "yet another pass-phrase")).status_code == 401


async def test_an_expired_or_made_up_reset_link_is_refused(mail_app: Litestar, people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    await request_reset(owner, email_of(owner))
    token = token_of(only_mail(mailbox, email_of(owner)))
    async with mail_app.state.sessionmaker() as db:
        row = await db.get(PasswordResetToken, sha256(token))
        assert row is not None and row.expires_at - row.created_at == dt.timedelta(minutes=30)
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.commit()
    for attempt in (token, "made-up-" + token[8:], "x" * 128):
        refused = await complete_reset(await people(), attempt)
        assert refused.status_code == 400 and refused.json()["code"] == "reset-link-invalid"
    page = await owner.client.get(f"/reset-password?token={token}", headers={"accept": "text/html"})
    assert page.status_code == 400 and "has expired or has been used already" in page.text
    assert (await sign_in(await people(), email_of(owner), owner.user["password"])).status_code == 200  # type: ignore[index]


async def test_a_new_link_ends_the_earlier_one_and_a_bad_password_keeps_the_link(people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    await request_reset(owner, email_of(owner))
    await request_reset(owner, email_of(owner))
    first, second = (token_of(m) for m in mailbox.to(email_of(owner)))
    assert (await complete_reset(await people(), first)).status_code == 400
    weak = await complete_reset(await people(), second, "password")
    assert weak.status_code == 422 and [e["field"] for e in weak.json()["errors"]] == ["new_password"]
    assert (await complete_reset(await people(), second)).status_code == 200  # the refused try did not use it up


async def test_reset_mails_per_account_are_limited_without_saying_so(people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    answers = [await request_reset(await people(), email_of(owner)) for _ in range(5)]
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert len(mailbox.to(email_of(owner))) == 3


async def test_the_reset_pages_work_without_script(people: Any, mailbox: Mailbox) -> None:
    owner = await people("patient")
    browser = await people()
    html = {"accept": "text/html", "content-type": "application/x-www-form-urlencoded"}
    sign_in_page = await browser.client.get("/sign-in", headers={"accept": "text/html"})
    assert 'href="/forgot-password"' in sign_in_page.text
    asked = await browser.client.post(
        "/forgot-password", data={"_csrf": browser.csrf, "email": email_of(owner)}, headers=html
    )
    assert asked.status_code == 200 and "we have sent it a link" in asked.text
    link = only_mail(mailbox, email_of(owner)).link("/reset-password")
    page = await browser.client.get(link.removeprefix("http://testserver.local"), headers={"accept": "text/html"})
    assert page.status_code == 200 and 'name="new_password"' in page.text
    token = parse_qs(urlsplit(link).query)["token"][0]
    done = await browser.client.post(
        "/reset-password", data={"_csrf": browser.csrf, "token": token, "new_password": NEW_PASSWORD}, headers=html
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert await signed_in(browser, "/api/v1/profile")


async def test_the_forgot_password_page_speaks_spanish(people: Any) -> None:
    browser = await people()
    page = await browser.client.get("/forgot-password", headers={"accept": "text/html", "accept-language": "es"})
    assert "¿Has olvidado tu contraseña?" in page.text and "Envíame un enlace" in page.text


def test_the_pages_translate_every_password_rule() -> None:
    from backend.accounts.pages import PASSWORD_RULES

    said = {password_problem("short"), password_problem("x" * 2000), password_problem("password")}
    said.add(password_problem("someone@example.org", email="someone@example.org"))
    assert said == set(PASSWORD_RULES)


# ---- two-step sign-in -----------------------------------------------------------------------------------------------


async def test_setting_up_two_step_needs_the_password_and_a_first_code(mail_app: Litestar, people: Any) -> None:
    clinician = await people("clinician")
    refused = await clinician.post("/api/v1/account/two-step", json={"password": "not my password"})
    assert refused.status_code == 403
    started = await clinician.post("/api/v1/account/two-step", json={"password": clinician.user["password"]})  # type: ignore[index]
    assert started.status_code == 201
    setup = started.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/") and setup["secret"] in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("<svg")
    wrong = await clinician.post("/api/v1/account/two-step/confirm", json={"code": "000000"})
    assert wrong.status_code == 422 and [e["field"] for e in wrong.json()["errors"]] == ["code"]
    assert not (await clinician.get("/api/v1/account/two-step")).json()["enabled"]

    confirmed = await clinician.post("/api/v1/account/two-step/confirm", json={"code": code_at(setup["secret"])})
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    status = (await clinician.get("/api/v1/account/two-step")).json()
    assert status == {"enabled": True, "required": True, "recovery_codes_left": 10}
    async with mail_app.state.sessionmaker() as db:
        row = await db.get(TwoStepSecret, uuid.UUID(clinician.user["id"]))  # type: ignore[index]
        hashes = set((await db.execute(select(RecoveryCode.code_hash))).scalars())
    assert row is not None and setup["secret"] not in row.secret_encrypted  # encrypted at rest
    assert two_step.unseal(mail_app.state.settings, row.user_id, row.secret_encrypted) == setup["secret"]
    other = make_settings("sqlite+aiosqlite://", secret_key="another-secret-" + "y" * 40)
    assert two_step.unseal(other, row.user_id, row.secret_encrypted) is None
    assert not any(code in hashes or code.replace("-", "") in hashes for code in codes)


async def test_a_clinician_with_two_step_signs_in_with_a_code_used_once(people: Any) -> None:
    clinician = await people("clinician")
    secret, _ = await with_two_step(clinician)
    assert clinician.user is not None
    laptop = await people()
    first = await sign_in(laptop, email_of(clinician), clinician.user["password"])
    assert first.status_code == 202 and first.json()["second_step"] == "code" and first.json()["user"] is None
    assert "spasm_session" not in laptop.client.cookies
    assert (await laptop.client.get("/api/v1/triage")).status_code == 401  # the password alone opens nothing

    assert (await send_code(laptop, "123456")).json()["code"] == "bad-code"
    used_at_set_up = code_at(secret)  # the code that confirmed the set-up: already used
    assert (await send_code(laptop, used_at_set_up)).status_code == 401
    fresh = code_at(secret, 1)
    done = await send_code(laptop, fresh)
    assert done.status_code == 200, done.text
    assert done.json()["user"]["email"] == email_of(clinician)
    assert await signed_in(laptop, "/api/v1/triage")

    again = await people()
    assert (await sign_in(again, email_of(clinician), clinician.user["password"])).status_code == 202
    assert (await send_code(again, fresh)).status_code == 401  # a code works once, even in another sign-in


async def test_a_recovery_code_signs_in_once(people: Any) -> None:
    clinician = await people("clinician")
    _, codes = await with_two_step(clinician)
    assert clinician.user is not None
    laptop = await people()
    assert (await sign_in(laptop, email_of(clinician), clinician.user["password"])).status_code == 202
    assert (await send_code(laptop, codes[3].lower().replace("-", " "))).status_code == 200  # as typed by a person
    assert (await clinician.get("/api/v1/account/two-step")).json()["recovery_codes_left"] == 9
    other = await people()
    assert (await sign_in(other, email_of(clinician), clinician.user["password"])).status_code == 202
    assert (await send_code(other, codes[3])).status_code == 401


async def test_too_many_wrong_codes_end_the_attempt_and_then_make_it_wait(mail_app: Litestar, people: Any) -> None:
    clinician = await people("clinician")
    secret, _ = await with_two_step(clinician)
    assert clinician.user is not None
    laptop = await people()
    assert (await sign_in(laptop, email_of(clinician), clinician.user["password"])).status_code == 202
    assert [(await send_code(laptop, f"{n:06d}")).status_code for n in range(5)] == [401] * 5
    ended = await send_code(laptop, code_at(secret, 1))  # even the right code: this half-done sign-in is over
    assert ended.status_code == 401 and ended.json()["code"] == "sign-in-again"
    async with mail_app.state.sessionmaker() as db:
        row = await db.get(SignInThrottle, code_key(clinician.user["id"]))
        assert row is not None and row.failures == 5 and row.wait_until > row.last_failure_at
        row.wait_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=4)  # as after more failures
        await db.commit()
    assert (await sign_in(laptop, email_of(clinician), clinician.user["password"])).status_code == 202
    waiting = await send_code(laptop, code_at(secret, 1))
    assert waiting.status_code == 429 and 0 < int(waiting.headers["retry-after"]) <= 240
    async with mail_app.state.sessionmaker() as db:
        await db.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == code_key(clinician.user["id"]))
            .values(wait_until=dt.datetime.now(dt.UTC))
        )
        await db.commit()
    assert (await send_code(laptop, code_at(secret, 1))).status_code == 200


async def test_a_remembered_browser_skips_the_code_for_at_most_30_days(mail_app: Litestar, people: Any) -> None:
    clinician = await people("clinician")
    secret, codes = await with_two_step(clinician)
    assert clinician.user is not None
    laptop = await people()
    await sign_in(laptop, email_of(clinician), clinician.user["password"])
    remembered = await send_code(laptop, code_at(secret, 1), remember=True)
    assert remembered.status_code == 200
    device_cookie = next(h for h in remembered.headers.get_list("set-cookie") if h.startswith("spasm_device="))
    assert "max-age=2592000" in device_cookie.lower() and "httponly" in device_cookie.lower()
    assert (await laptop.post("/api/v1/auth/sign-out")).status_code == 204
    assert (await sign_in(laptop, email_of(clinician), clinician.user["password"])).status_code == 200  # no code

    async with mail_app.state.sessionmaker() as db:
        row = (
            await db.execute(
                select(RememberedDevice).where(RememberedDevice.user_id == uuid.UUID(clinician.user["id"]))
            )
        ).scalar_one()
        assert row.expires_at - row.created_at == dt.timedelta(days=30)
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.commit()
    assert (await sign_in(laptop, email_of(clinician), clinician.user["password"])).status_code == 202

    colleague = await people("clinician")
    await with_two_step(colleague)
    assert colleague.user is not None
    laptop.client.cookies.set("spasm_device", device_cookie.split(";")[0].split("=", 1)[1], domain="testserver.local")
    assert (await sign_in(laptop, email_of(colleague), colleague.user["password"])).status_code == 202  # not theirs

    assert (await send_code(laptop, codes[0])).status_code == 401  # the colleague's challenge, the first one's code


async def test_where_required_a_clinician_without_two_step_is_led_to_set_it_up(people: Any) -> None:
    clinician = await people("clinician")
    for path in ("/api/v1/triage", "/api/v1/care-links"):
        refused = await clinician.client.get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "two-step-required", path
    home = await clinician.client.get("/", headers={"accept": "text/html"})
    assert home.status_code == 303 and home.headers["location"] == "/account/two-step"
    report = await clinician.client.get(f"/patients/{uuid.uuid4()}/report", headers={"accept": "text/html"})
    assert report.status_code == 303 and report.headers["location"] == "/account/two-step"
    setup_page = await clinician.client.get("/account/two-step", headers={"accept": "text/html"})
    assert setup_page.status_code == 200 and "Before you see your patients" in setup_page.text
    await with_two_step(clinician)
    assert (await clinician.client.get("/api/v1/triage")).status_code == 200
    refused_off = await clinician.delete("/api/v1/account/two-step", json={"password": clinician.user["password"]})  # type: ignore[index]
    assert refused_off.status_code == 409 and refused_off.json()["code"] == "two-step-required-here"
    patient = await people("patient")
    assert (await patient.client.get("/api/v1/profile")).status_code == 200  # patients are not asked


async def test_production_requires_two_step_for_clinicians_and_elsewhere_it_is_a_choice(database_url: str) -> None:
    from tests.conftest import production_settings

    assert production_settings(database_url).two_step_required
    assert not make_settings(database_url).two_step_required
    assert not production_settings(database_url, clinician_two_step=False).two_step_required


# ---- disabling an account -------------------------------------------------------------------------------------------


async def test_an_operator_disables_an_account_and_its_sessions_end_at_once(
    mail_app: Litestar, people: Any, database_url: str
) -> None:
    clinician = await people("clinician")
    await with_two_step(clinician)
    assert await signed_in(clinician, "/api/v1/triage")
    env = {"SPASM_DATABASE_URL": database_url, "SPASM_SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "backend.cli", "disable-account", email_of(clinician).upper()]
    ran = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "disabled" in ran.stdout and "sessions ended" in ran.stdout
    assert not await signed_in(clinician, "/api/v1/triage")  # the very next request
    async with mail_app.state.sessionmaker() as db:
        user = (await db.execute(select(User).where(User.email == email_of(clinician)))).scalar_one()
        left = (await db.execute(select(WebSession).where(WebSession.user_id == user.id))).all()
    assert user.disabled_at is not None and left == []
    assert (await sign_in(await people(), email_of(clinician), clinician.user["password"])).status_code == 401  # type: ignore[index]
    unknown = subprocess.run(
        [*command[:-1], "nobody@example.org"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode != 0 and "no account" in unknown.stderr

    enable = [sys.executable, "-m", "backend.cli", "enable-account", email_of(clinician)]
    assert subprocess.run(enable, cwd=ROOT, env=env, capture_output=True, timeout=120).returncode == 0
    assert (await sign_in(await people(), email_of(clinician), clinician.user["password"])).status_code == 202  # type: ignore[index]


# ---- the two-step pages, without script -----------------------------------------------------------------------------

FORM = {"accept": "text/html", "content-type": "application/x-www-form-urlencoded"}


async def test_a_clinician_sets_up_two_step_and_signs_in_with_it_through_the_pages(people: Any) -> None:
    clinician = await people("clinician")
    assert clinician.user is not None
    security = await clinician.client.get("/account/security", headers={"accept": "text/html"})
    assert 'href="/account/password"' in security.text and 'href="/account/two-step"' in security.text
    begun = await clinician.client.post(
        "/account/two-step/begin", data={"_csrf": clinician.csrf, "password": clinician.user["password"]}, headers=FORM
    )
    assert begun.status_code == 200 and 'src="data:image/svg+xml;base64,' in begun.text
    key = begun.text.split('<code class="key">')[1].split("</code>")[0].replace(" ", "")
    confirmed = await clinician.client.post(
        "/account/two-step/confirm", data={"_csrf": clinician.csrf, "code": code_at(key)}, headers=FORM
    )
    assert confirmed.status_code == 200 and "Your recovery codes" in confirmed.text
    assert confirmed.text.count("<li><code>") == 10

    laptop = await people()
    password = await laptop.client.post(
        "/sign-in",
        data={"_csrf": laptop.csrf, "email": email_of(clinician), "password": clinician.user["password"]},
        headers=FORM,
    )
    assert password.status_code == 303 and password.headers["location"] == "/sign-in/code"
    page = await laptop.client.get("/sign-in/code", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
    wrong = await laptop.client.post("/sign-in/code", data={"_csrf": laptop.csrf, "code": "000000"}, headers=FORM)
    assert wrong.status_code == 401 and "That code is not right" in wrong.text
    done = await laptop.client.post(
        "/sign-in/code", data={"_csrf": laptop.csrf, "code": code_at(key, 1), "remember": "on"}, headers=FORM
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = await laptop.client.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200 and "My patients" in home.text


async def test_the_password_page_changes_it_and_signs_out_elsewhere(people: Any) -> None:
    patient = await people("patient")
    assert patient.user is not None
    other = await people()
    await sign_in(other, email_of(patient), patient.user["password"])
    account = await patient.client.get("/account", headers={"accept": "text/html"})
    assert 'href="/account/password"' in account.text
    changed = await patient.client.post(
        "/account/password",
        data={"_csrf": patient.csrf, "current_password": patient.user["password"], "new_password": NEW_PASSWORD},
        headers=FORM,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/account/password?changed=1"
    shown = await patient.client.get(changed.headers["location"], headers={"accept": "text/html"})
    assert "Your password was changed" in shown.text
    assert await signed_in(patient, "/api/v1/profile") and not await signed_in(other, "/api/v1/profile")
    await patient.refresh_csrf()  # the new session has its own token
    wrong = await patient.client.post(
        "/account/password",
        data={"_csrf": patient.csrf, "current_password": "not it", "new_password": "another long phrase"},
        headers=FORM,
    )
    assert wrong.status_code == 403 and "is not your current password" in wrong.text
