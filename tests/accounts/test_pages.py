"""The browser pages: plain HTML forms for sign in, register and sign out, with CSRF fields and security headers."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from typing import Any

import httpx
from litestar import Litestar

from backend.accounts.models import WebSession
from tests.conftest import Api

SESSION_COOKIE = "spasm_session"
HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
FORM = "application/x-www-form-urlencoded"
CSRF_FIELD = re.compile(r'<input[^>]*name="_csrf"[^>]*>')


def csrf_field(page: httpx.Response) -> str:
    """The value of the hidden _csrf field of the page's form."""
    fields = CSRF_FIELD.findall(page.text)
    assert fields, page.text
    assert all('type="hidden"' in f for f in fields)
    values = {re.search(r'value="([^"]*)"', f).group(1) for f in fields}  # type: ignore[union-attr]
    assert len(values) == 1 and "" not in values, fields
    return values.pop()


def set_cookie_header(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.split("=", 1)[0].strip() == name:
            return header
    return None


def sets_session(response: httpx.Response) -> bool:
    header = set_cookie_header(response, SESSION_COOKIE)
    return header is not None and not header.startswith(f"{SESSION_COOKIE}=;") and "max-age=0" not in header.lower()


async def form_post(api: Api, url: str, data: dict[str, str], *, accept_html: bool = True) -> httpx.Response:
    accept = HTML if accept_html else {"accept": "application/json"}
    return await api.client.post(url, data=data, headers={**accept, "content-type": FORM})


async def new_browser(browser: Any) -> Api:
    api: Api = await browser()
    return api


async def session_alive(app: Litestar, token: str) -> bool:
    async with app.state.sessionmaker() as db:
        return await db.get(WebSession, hashlib.sha256(token.encode()).hexdigest()) is not None


async def sign_in_by_form(api: Api, email: str, password: str) -> httpx.Response:
    page = await api.client.get("/sign-in", headers=HTML)
    return await form_post(api, "/sign-in", {"_csrf": csrf_field(page), "email": email, "password": password})


# --- rendering -----------------------------------------------------------------------------------------------------


async def test_sign_in_and_register_pages_carry_a_csrf_field(browser: Any) -> None:
    api = await new_browser(browser)
    for url, words in (("/sign-in", "Sign in"), ("/register", "Create an account")):
        page = await api.client.get(url, headers=HTML)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert words in page.text
        assert csrf_field(page)
        assert "no-store" in page.headers["cache-control"]
    # The token is tied to an anonymous cookie set the first time, so both pages carry the same one.
    first = csrf_field(await api.client.get("/sign-in"))
    assert csrf_field(await api.client.get("/register")) == first
    assert api.client.cookies.get("spasm_csrf")
    # Another browser gets another token.
    assert csrf_field(await (await new_browser(browser)).client.get("/sign-in")) != first


async def test_signed_out_home_redirects_to_sign_in(browser: Any) -> None:
    api = await new_browser(browser)
    response = await api.client.get("/", headers=HTML)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "/sign-in"


# --- sign in -------------------------------------------------------------------------------------------------------


async def test_sign_in_form_with_good_credentials(browser: Any, patient: Api, app: Litestar) -> None:
    assert patient.user is not None
    api = await new_browser(browser)
    response = await sign_in_by_form(api, patient.user["email"], patient.user["password"])
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    header = set_cookie_header(response, SESSION_COOKIE)
    assert header is not None and sets_session(response)
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert await session_alive(app, api.client.cookies[SESSION_COOKIE])

    home = await api.client.get("/", headers=HTML)
    assert home.status_code == 200
    assert html.escape(patient.user["display_name"]) in home.text
    assert 'action="/sign-out"' in home.text


async def test_sign_in_form_with_bad_credentials_says_so_kindly(browser: Any, patient: Api) -> None:
    assert patient.user is not None
    api = await new_browser(browser)
    for email, password in (
        (patient.user["email"], "not the right password"),
        (f"nobody-{uuid.uuid4().hex[:8]}@example.org", patient.user["password"]),
        (patient.user["email"], ""),
    ):
        response = await sign_in_by_form(api, email, password)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "do not match an account" in response.text
        assert 'role="alert"' in response.text
        assert f'value="{html.escape(email)}"' in response.text  # the e-mail is kept, the password is not
        assert patient.user["password"] not in response.text
        assert not sets_session(response)
        assert csrf_field(response)
    assert SESSION_COOKIE not in api.client.cookies
    assert (await api.client.get("/", headers=HTML)).status_code in (302, 303, 307)


async def test_a_form_post_without_csrf_gets_a_friendly_html_page(browser: Any, patient: Api) -> None:
    assert patient.user is not None
    api = await new_browser(browser)
    await api.client.get("/sign-in", headers=HTML)  # the anonymous cookie is there, the field is not
    credentials = {"email": patient.user["email"], "password": patient.user["password"]}
    for data in (credentials, {**credentials, "_csrf": "forged" + "0" * 58}):
        response = await form_post(api, "/sign-in", data)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "<html" in response.text
        assert "did not come from this site" in response.text
        assert "Traceback" not in response.text
        assert not sets_session(response)
        assert_security_headers(response)
    # A script that does not ask for HTML gets problem details instead.
    response = await api.client.post("/sign-in", data=credentials, headers={"accept": "application/json"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "csrf-failed"


async def test_an_unknown_page_gets_a_friendly_html_404(browser: Any) -> None:
    api = await new_browser(browser)
    response = await api.client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Nothing lives at this address." in response.text
    assert_security_headers(response)


async def test_a_form_token_from_another_browser_is_refused(browser: Any, patient: Api) -> None:
    assert patient.user is not None
    attacker = await new_browser(browser)
    token = csrf_field(await attacker.client.get("/sign-in"))
    victim = await new_browser(browser)
    await victim.client.get("/sign-in")
    data = {"_csrf": token, "email": patient.user["email"], "password": patient.user["password"]}
    response = await form_post(victim, "/sign-in", data, accept_html=False)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf-failed"
    assert not sets_session(response)


# --- register ------------------------------------------------------------------------------------------------------


def register_data(page: httpx.Response, **overrides: str) -> dict[str, str]:
    data = {
        "_csrf": csrf_field(page),
        "display_name": "Form Person",
        "email": f"form-{uuid.uuid4().hex[:12]}@example.org",
        "password": "a sentence that is long enough",
        "role": "patient",
        "time_zone": "Europe/Madrid",
    }
    data.update(overrides)
    return data


async def test_register_form_creates_the_account_and_signs_in(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    data = register_data(page, display_name="Form Person")
    response = await form_post(api, "/register", data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    assert sets_session(response)
    home = await api.client.get("/", headers=HTML)
    assert home.status_code == 200 and "Form Person" in home.text
    assert "My diary" in home.text


async def test_register_form_shows_errors_in_words_and_keeps_what_was_typed(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    cases = [
        ({"password": "short"}, "at least 8 characters"),
        ({"password": "password"}, "most common"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time zone"),
        ({"email": "no-at-sign.example.org"}, "e-mail address"),
    ]
    for overrides, words in cases:
        data = register_data(page, **overrides)
        response = await form_post(api, "/register", data)
        assert response.status_code == 400, (overrides, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert words in response.text, (overrides, response.text)
        assert 'role="alert"' in response.text
        assert f'value="{html.escape(data["display_name"])}"' in response.text
        assert data["password"] not in re.findall(r'value="([^"]*)"', response.text)
        assert not sets_session(response)


async def test_register_form_says_which_field_is_empty(browser: Any) -> None:
    """A blank name must be reported as such: "is empty" alone does not tell the person what to fix."""
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    response = await form_post(api, "/register", register_data(page, display_name="   "))
    assert response.status_code == 400
    alert = re.search(r'<div class="error" role="alert">(.*?)</div>', response.text, re.S)
    assert alert is not None, response.text
    items = re.findall(r"<li>(.*?)</li>", alert.group(1), re.S)
    assert items, alert.group(1)
    assert all("name" in item.lower() for item in items), items


async def test_register_form_refuses_emails_the_api_refuses(browser: Any) -> None:
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    for email in ("@", "a@b@example.org", "two words@example.org", f"{uuid.uuid4().hex[:8]}@"):
        response = await form_post(api, "/register", register_data(page, email=email))
        assert response.status_code == 400, (email, response.status_code)
        assert not sets_session(response), email


async def test_the_register_form_answers_a_taken_email_like_a_new_one(browser: Any, patient: Api) -> None:
    """The same redirect and cookies as a new account (the owner gets an e-mail instead); the cookie opens nothing."""
    assert patient.user is not None
    fresh_api = await new_browser(browser)
    fresh = await form_post(
        fresh_api, "/register", register_data(await fresh_api.client.get("/register", headers=HTML))
    )
    api = await new_browser(browser)
    page = await api.client.get("/register", headers=HTML)
    response = await form_post(api, "/register", register_data(page, email=patient.user["email"].upper()))
    assert (response.status_code, response.headers["location"]) == (fresh.status_code, fresh.headers["location"])
    assert sets_session(response) and sets_session(fresh)
    assert "already" not in response.text
    home = await api.client.get("/", headers=HTML)
    assert home.status_code in (302, 303) and home.headers["location"] == "/sign-in"  # not signed in as anyone


async def test_a_display_name_is_escaped_on_the_home_page(browser: Any) -> None:
    api = await new_browser(browser)
    name = "<script>alert('x')</script>&<b>"
    await api.register(display_name=name)
    home = await api.client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "<script>alert" not in home.text
    assert "<b>" not in home.text
    assert "&lt;script&gt;alert(" in home.text


# --- sign out ------------------------------------------------------------------------------------------------------


async def test_sign_out_form_ends_the_session(browser: Any, app: Litestar) -> None:
    api = await new_browser(browser)
    await api.register()
    token = api.client.cookies[SESSION_COOKIE]
    home = await api.client.get("/", headers=HTML)
    assert home.status_code == 200
    response = await form_post(api, "/sign-out", {"_csrf": csrf_field(home)})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/sign-in"
    assert not await session_alive(app, token)
    assert SESSION_COOKIE not in api.client.cookies
    assert (await api.client.get("/", headers=HTML)).status_code in (302, 303, 307)

    replay: Api = await browser()
    replay.client.cookies.set(SESSION_COOKIE, token, domain="testserver.local", path="/")
    assert (await replay.client.get("/api/v1/profile")).status_code == 401
    assert (await replay.client.get("/", headers=HTML)).status_code in (302, 303, 307)


async def test_sign_out_form_needs_the_csrf_field(browser: Any, app: Litestar) -> None:
    api = await new_browser(browser)
    await api.register()
    token = api.client.cookies[SESSION_COOKIE]
    response = await form_post(api, "/sign-out", {}, accept_html=False)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf-failed"
    assert await session_alive(app, token)
    assert (await api.client.get("/", headers=HTML)).status_code == 200


# --- security headers ----------------------------------------------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy")
    assert csp, (response.request.url, dict(response.headers))
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src" in directives
    assert "*" not in directives.get("script-src", directives["default-src"])
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }


async def test_security_headers_on_pages_and_api(browser: Any, patient: Api) -> None:
    anonymous = await new_browser(browser)
    responses = [
        await anonymous.client.get("/sign-in", headers=HTML),
        await anonymous.client.get("/register", headers=HTML),
        await anonymous.client.get("/", headers=HTML),  # a redirect
        await anonymous.client.get("/api/v1/auth/session"),
        await anonymous.client.get("/api/v1/profile"),  # a 401 problem
        await anonymous.client.post("/api/v1/auth/sign-in", json={}),  # a 403 problem
        await anonymous.client.post("/sign-in", data={}),  # a 403 from a page, as problem details
        await patient.client.get("/", headers=HTML),
        await patient.get("/api/v1/profile"),
        await patient.get("/healthz"),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses[-3:] == [200, 200, 200], statuses
    for response in responses:
        assert_security_headers(response)


async def test_security_headers_on_answers_for_unknown_addresses_and_methods(patient: Api) -> None:
    """Every response carries the headers, also those the router makes before any handler is found."""
    responses = [
        await patient.get("/api/v1/no-such-thing"),
        await patient.get("/no-such-page", headers={"accept": "application/json"}),
        await patient.delete("/api/v1/auth/session"),  # a 405
    ]
    assert [r.status_code for r in responses] == [404, 404, 405]
    for response in responses:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert_security_headers(response)


async def test_pages_need_no_inline_script_or_style(browser: Any, patient: Api) -> None:
    """The policy forbids inline code, so the pages must not depend on any."""
    anonymous = await new_browser(browser)
    pages = [
        await anonymous.client.get("/sign-in", headers=HTML),
        await anonymous.client.get("/register", headers=HTML),
        await patient.client.get("/", headers=HTML),
    ]
    for page in pages:
        assert page.status_code == 200
        scripts = re.findall(r"<script\b[^>]*>", page.text, re.I)
        assert all("src=" in s for s in scripts), scripts
        assert not re.search(r"<style\b", page.text, re.I)
        assert not re.search(r"\sstyle=", page.text, re.I)
        assert not re.search(r"\son[a-z]+=", page.text, re.I)


async def test_a_signed_out_browser_is_sent_to_sign_in_from_a_protected_page(browser: Any) -> None:
    import uuid

    stranger: Api = await browser()
    response = await stranger.client.get(f"/patients/{uuid.uuid4()}/report", headers={"accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
