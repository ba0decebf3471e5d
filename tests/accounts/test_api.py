"""The account API: registration, passwords (NIST SP 800-63B), sign-in and sign-out, session lifetime and CSRF.

Sessions are made to expire by moving their limits into the past in the database, which is what the passage of time
would do; every check then goes through the app exactly as a browser would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import select, update

from backend.accounts.models import User, WebSession
from backend.app import create_app
from tests.conftest import Api, make_settings

SESSION_COOKIE = "spasm_session"  # over plain http, as in the tests; __Host-spasm_session over https
COMMON_FILE = Path(__file__).resolve().parents[2] / "backend" / "accounts" / "common-passwords.txt"
GOOD_PASSWORD = "a perfectly fine pass-phrase"
PASSWORDS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


# --- helpers ------------------------------------------------------------------------------------------------------


def common_passwords() -> list[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


COMMON = common_passwords()
COMMON_LOWER = frozenset(p.lower() for p in COMMON)


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_email(prefix: str = "someone") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


def registration(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": new_email(),
        "password": GOOD_PASSWORD,
        "display_name": "Ana Test",
        "role": "patient",
        "time_zone": "Europe/Madrid",
    }
    body.update(overrides)
    return body


def set_cookie_header(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.split("=", 1)[0].strip() == name:
            return header
    return None


def cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    attributes: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        attributes[key.strip().lower()] = value.strip()
    return attributes


def session_of(api: Api) -> str:
    token = api.client.cookies.get(SESSION_COOKIE)
    assert token, "this browser holds no session cookie"
    return token


async def anonymous(browser: Any) -> Api:
    api: Api = await browser()
    await api.refresh_csrf()
    assert api.user is None
    return api


async def holding(browser: Any, token: str) -> Api:
    """A fresh browser that holds a copy of someone's session cookie (a replay)."""
    api: Api = await browser()
    api.client.cookies.set(SESSION_COOKIE, token, domain="testserver.local", path="/")
    return api


async def signed_in_status(api: Api) -> int:
    """200 when the browser's session is alive (for a patient), 401 when it is not."""
    return (await api.client.get("/api/v1/profile")).status_code


async def sign_in(api: Api, email: str, password: str) -> httpx.Response:
    await api.refresh_csrf()
    response = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": password})
    if response.status_code == 200:
        api.csrf = response.json()["csrf_token"]
    return response


async def user_row(app: Litestar, email: str) -> User | None:
    async with app.state.sessionmaker() as db:
        return (await db.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()


async def session_row(app: Litestar, token: str) -> WebSession | None:
    async with app.state.sessionmaker() as db:
        return await db.get(WebSession, sha256(token))


async def change_session(app: Litestar, token: str, **values: Any) -> None:
    async with app.state.sessionmaker() as db:
        result = await db.execute(update(WebSession).where(WebSession.token_hash == sha256(token)).values(**values))
        await db.commit()
    assert result.rowcount == 1  # type: ignore[attr-defined]


def assert_problem(response: httpx.Response, status: int | tuple[int, ...], field: str | None = None) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == response.status_code
    if field is not None:
        assert any(e["field"] == field for e in problem.get("errors", [])), problem
    return problem


# --- registration -------------------------------------------------------------------------------------------------


async def test_register_creates_the_account_and_signs_in(browser: Any, app: Litestar) -> None:
    api = await anonymous(browser)
    body = registration(display_name="Ana Test")
    response = await api.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["user"]["email"] == body["email"]
    assert out["user"]["display_name"] == "Ana Test"
    assert out["user"]["role"] == "patient"
    uuid.UUID(out["user"]["id"])
    assert "password" not in out["user"] and "password_hash" not in out["user"]
    assert out["csrf_token"] and out["csrf_token"] != api.csrf
    assert "no-store" in response.headers["cache-control"]

    header = set_cookie_header(response, SESSION_COOKIE)
    assert header is not None, response.headers.get_list("set-cookie")
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    assert attributes.get("path") == "/"

    # The browser is now signed in as that person.
    api.csrf = out["csrf_token"]
    session = (await api.get("/api/v1/auth/session")).json()
    assert session["user"] == out["user"]
    assert await signed_in_status(api) == 200
    row = await user_row(app, body["email"])
    assert row is not None and str(row.id) == out["user"]["id"]


async def test_the_session_cookie_is_host_only_and_secure_over_https(database_url: str) -> None:
    secure_app = create_app(make_settings(database_url, base_url="https://testserver.local"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=secure_app), base_url="https://testserver.local"
        ) as client:
            api = Api(client)
            await api.refresh_csrf()
            response = await api.post("/api/v1/auth/register", json=registration())
            assert response.status_code == 201, response.text
            header = set_cookie_header(response, "__Host-spasm_session")
            assert header is not None, response.headers.get_list("set-cookie")
            attributes = cookie_attributes(header)
            assert "secure" in attributes and "httponly" in attributes
            assert attributes.get("samesite", "").lower() == "lax"
            assert attributes.get("path") == "/" and "domain" not in attributes
            assert "max-age=31536000" in response.headers.get("strict-transport-security", "")
    finally:
        await secure_app.state.engine.dispose()


async def test_session_limits_depend_on_the_role(browser: Any, app: Litestar) -> None:
    patient: Api = await browser()
    clinician: Api = await browser()
    await patient.register("patient")
    await clinician.register("clinician")
    for api, idle, absolute in (
        (patient, dt.timedelta(days=14), dt.timedelta(days=30)),
        (clinician, dt.timedelta(minutes=30), dt.timedelta(hours=12)),
    ):
        row = await session_row(app, session_of(api))
        assert row is not None
        assert abs(row.idle_expires_at - row.created_at - idle) < dt.timedelta(seconds=5)
        assert abs(row.absolute_expires_at - row.created_at - absolute) < dt.timedelta(seconds=5)


def answer_shape(response: httpx.Response) -> tuple[Any, ...]:
    """What a stranger can compare between two registrations: the status, the body's fields and types, the cookies
    set with their attributes (not their random values)."""
    body = response.json()
    cookies = sorted(
        (h.split("=", 1)[0], tuple(sorted(cookie_attributes(h).items())))
        for h in response.headers.get_list("set-cookie")
    )
    return (
        response.status_code,
        sorted(body),
        sorted(body["user"]),
        {k: type(v).__name__ for k, v in body["user"].items()},
        len(body["csrf_token"]),
        cookies,
        response.headers.get("cache-control"),
    )


async def test_a_taken_email_gets_the_same_answer_and_signs_nobody_in(browser: Any, app: Litestar) -> None:
    """Registration must not tell whether an e-mail has an account (the owner is told by e-mail instead:
    tests/accounts/test_account_security.py); the account itself is untouched, whatever the capitals."""
    first = await anonymous(browser)
    email = new_email("Twice")
    fresh = await first.post("/api/v1/auth/register", json=registration(email=email))
    assert fresh.status_code == 201
    owner = await user_row(app, email)
    assert owner is not None

    for variant in (email, email.upper(), email.swapcase()):
        again = await anonymous(browser)
        response = await again.post("/api/v1/auth/register", json=registration(email=variant, display_name="Impostor"))
        assert answer_shape(response) == answer_shape(fresh)
        assert response.json()["user"]["id"] != str(owner.id)
        assert response.json()["user"]["email"] == email.lower()
        assert await signed_in_status(again) == 401  # the cookie it got opens nothing
        assert (await again.client.get("/api/v1/auth/session")).json()["user"] is None
    row = await user_row(app, email)
    assert row is not None and row.display_name == "Ana Test" and row.password_hash == owner.password_hash
    assert await signed_in_status(first) == 200  # the owner's own session is untouched


async def test_the_email_is_stored_in_lower_case_and_signs_in_with_any_capitals(browser: Any, app: Litestar) -> None:
    api = await anonymous(browser)
    email = new_email("MiXeD")
    assert (await api.post("/api/v1/auth/register", json=registration(email=email))).status_code == 201
    row = await user_row(app, email)
    assert row is not None and row.email == email.lower()
    assert (await sign_in(await browser(), email.upper(), GOOD_PASSWORD)).status_code == 200


async def test_invalid_registrations_name_the_field_and_create_nothing(browser: Any, app: Litestar) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("email", registration(email="not-an-email")),
        ("email", registration(email="two words@example.org")),
        ("email", registration(email="a@b@example.org")),
        ("time_zone", registration(time_zone="Mars/Olympus_Mons")),
        ("time_zone", registration(time_zone="../../etc/passwd")),
        ("display_name", registration(display_name="   ")),
        ("role", registration(role="administrator")),
        ("is_admin", {**registration(), "is_admin": True}),
    ]
    for field, body in cases:
        api = await anonymous(browser)
        response = await api.post("/api/v1/auth/register", json=body)
        assert_problem(response, (400, 422), field)
        assert set_cookie_header(response, SESSION_COOKIE) is None
        assert await user_row(app, body["email"]) is None, (field, body)


async def test_a_missing_field_is_named_in_the_problem(browser: Any, app: Litestar) -> None:
    for missing in ("email", "password", "display_name"):
        api = await anonymous(browser)
        body = registration()
        del body[missing]
        response = await api.post("/api/v1/auth/register", json=body)
        assert_problem(response, (400, 422), missing)
        if "email" in body:
            assert await user_row(app, body["email"]) is None


async def test_a_body_that_is_not_an_object_is_refused(browser: Any) -> None:
    api = await anonymous(browser)
    for body in ([], "text", None, 3):
        assert_problem(await api.post("/api/v1/auth/register", json=body), (400, 422))
    response = await api.post(
        "/api/v1/auth/register", content=b"email=a@b.org", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 415)


# --- passwords (NIST SP 800-63B 5.1.1.2) ------------------------------------------------------------------------


async def register_with_password(browser: Any, password: str, **fields: Any) -> tuple[httpx.Response, dict[str, Any]]:
    api = await anonymous(browser)
    body = registration(password=password, **fields)
    return await api.post("/api/v1/auth/register", json=body), body


async def test_seven_characters_are_too_few_and_eight_are_enough(browser: Any, app: Litestar) -> None:
    short, body = await register_with_password(browser, "k3#vq9z")
    problem = assert_problem(short, 422, "password")
    assert "8" in " ".join(e["reason"] for e in problem["errors"])
    assert await user_row(app, body["email"]) is None

    enough, body = await register_with_password(browser, "k3#vq9zw")
    assert enough.status_code == 201, enough.text
    assert (await sign_in(await browser(), body["email"], "k3#vq9zw")).status_code == 200


async def test_long_pass_phrases_are_welcome(browser: Any) -> None:
    phrases = [
        "the quick brown fox jumps over the lazy dog while the cat watches on",  # 68 characters
        ("correct horse battery staple " * 20)[:500],
        "x" * 64 + "!",
    ]
    for phrase in phrases:
        response, body = await register_with_password(browser, phrase)
        assert response.status_code == 201, (len(phrase), response.text)
        assert (await sign_in(await browser(), body["email"], phrase)).status_code == 200


async def test_no_composition_rules(browser: Any) -> None:
    for password in ("only lower case letters here", "ONLY CAPITALS HERE", "9174628305", "zzzzzzzzzzzq"):
        response, _ = await register_with_password(browser, password)
        assert response.status_code == 201, (password, response.text)


async def test_common_passwords_are_refused(browser: Any, app: Litestar) -> None:
    picks = [COMMON[0], COMMON[1], COMMON[len(COMMON) // 2], COMMON[-1], "password", "iloveyou"]
    assert all(p.lower() in COMMON_LOWER for p in picks)
    for password in [*picks, COMMON[0].upper()]:
        response, body = await register_with_password(browser, password)
        problem = assert_problem(response, 422, "password")
        assert "common" in " ".join(e["reason"] for e in problem["errors"]).lower()
        assert await user_row(app, body["email"]) is None


async def test_the_email_cannot_be_the_password(browser: Any, app: Litestar) -> None:
    email = new_email()
    response, _ = await register_with_password(browser, email.upper(), email=email)
    assert_problem(response, 422, "password")
    assert await user_row(app, email) is None


async def test_unicode_passwords_are_compared_after_normalisation(browser: Any) -> None:
    composed = unicodedata.normalize("NFC", "contraseña ñandú café")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    response, body = await register_with_password(browser, composed)
    assert response.status_code == 201, response.text
    assert (await sign_in(await browser(), body["email"], decomposed)).status_code == 200
    assert (await sign_in(await browser(), body["email"], "contrasena nandu cafe")).status_code == 401


def acceptable(password: str) -> bool:
    # Characters are counted after NFKC normalisation (800-63B: passwords SHOULD be normalised before use).
    normal = unicodedata.normalize("NFKC", password)
    return 8 <= len(normal) <= 1024 and normal.lower() not in COMMON_LOWER


@given(password=st.text(min_size=8, max_size=80).filter(acceptable))
@PASSWORDS
async def test_any_long_enough_uncommon_password_is_accepted_and_signs_in(browser: Any, password: str) -> None:
    response, body = await register_with_password(browser, password)
    assert response.status_code == 201, (password, response.text)
    assert (await sign_in(await browser(), body["email"], password)).status_code == 200


async def test_only_an_argon2id_hash_is_stored(browser: Any, app: Litestar) -> None:
    response, body = await register_with_password(browser, GOOD_PASSWORD)
    assert response.status_code == 201
    row = await user_row(app, body["email"])
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in row.password_hash
    # A salt per account: the same password gives a different hash for someone else.
    _, other = await register_with_password(browser, GOOD_PASSWORD)
    other_row = await user_row(app, other["email"])
    assert other_row is not None and other_row.password_hash != row.password_hash


# --- sign in and sign out ----------------------------------------------------------------------------------------


async def test_sign_in_with_the_right_password(browser: Any, patient: Api) -> None:
    assert patient.user is not None
    api = await browser()
    response = await sign_in(api, patient.user["email"], patient.user["password"])
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == patient.user["id"]
    header = set_cookie_header(response, SESSION_COOKIE)
    assert header is not None
    assert "httponly" in cookie_attributes(header)
    assert "no-store" in response.headers["cache-control"]
    assert await signed_in_status(api) == 200


async def test_failed_sign_in_says_the_same_whatever_was_wrong(browser: Any, patient: Api) -> None:
    assert patient.user is not None
    wrong_password = await sign_in(await browser(), patient.user["email"], "not the right password")
    unknown_email = await sign_in(await browser(), new_email("nobody"), patient.user["password"])
    empty = await sign_in(await browser(), patient.user["email"], "")
    answers = [wrong_password, unknown_email, empty]
    for response in answers:
        problem = assert_problem(response, 401)
        assert set_cookie_header(response, SESSION_COOKIE) is None
        assert problem["code"] == "bad-credentials"
    assert len({r.json()["detail"] for r in answers}) == 1


async def test_sign_in_starts_a_new_session_and_ends_the_old_one(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    user = await api.register()
    before = session_of(api)
    old_csrf = api.csrf

    response = await sign_in(api, user["email"], user["password"])
    assert response.status_code == 200
    after = session_of(api)
    assert after != before  # ASVS 7.2.4: a new session token on authentication
    assert await session_row(app, before) is None
    assert await session_row(app, after) is not None
    assert await signed_in_status(api) == 200

    replay = await holding(browser, before)
    assert await signed_in_status(replay) == 401
    assert await signed_in_status(await holding(browser, after)) == 200  # a copied cookie does work while valid
    # The CSRF token tied to the old session no longer works either.
    stale = await api.post("/api/v1/auth/sign-out", headers={"x-csrf-token": old_csrf})
    assert assert_problem(stale, 403)["code"] == "csrf-failed"


async def test_sign_out_ends_the_session_on_the_server(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    await api.register()
    token = session_of(api)
    assert await signed_in_status(await holding(browser, token)) == 200  # a copy works until sign out
    response = await api.post("/api/v1/auth/sign-out")
    assert response.status_code == 204
    header = set_cookie_header(response, SESSION_COOKIE)
    assert header is not None and cookie_attributes(header).get("max-age") == "0"
    assert await session_row(app, token) is None

    replay = await holding(browser, token)  # ASVS 7.4.1: a copy of the cookie is worthless after sign out
    response = await replay.client.get("/api/v1/profile")
    assert assert_problem(response, 401)["code"] == "not-signed-in"
    assert (await replay.client.get("/api/v1/auth/session")).json()["user"] is None


async def test_sign_out_signs_out_only_that_browser(browser: Any, app: Litestar) -> None:
    phone: Api = await browser()
    user = await phone.register()
    laptop: Api = await browser()
    assert (await sign_in(laptop, user["email"], user["password"])).status_code == 200
    assert (await phone.post("/api/v1/auth/sign-out")).status_code == 204
    assert await signed_in_status(phone) == 401
    assert await signed_in_status(laptop) == 200


async def test_only_a_sha256_of_the_session_token_is_stored(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    user = await api.register()
    token = session_of(api)
    assert len(token) >= 32  # at least 128 bits, base64url-encoded (ASVS 7.2.3)
    async with app.state.sessionmaker() as db:
        hashes = set(
            (await db.execute(select(WebSession.token_hash).where(WebSession.user_id == uuid.UUID(user["id"]))))
            .scalars()
            .all()
        )
        raw = (await db.execute(select(WebSession).where(WebSession.token_hash == token))).first()
    assert hashes == {sha256(token)}
    assert raw is None


# --- session lifetime --------------------------------------------------------------------------------------------


async def test_an_idle_session_expires(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    await api.register()
    token = session_of(api)
    await change_session(app, token, idle_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    response = await api.get("/api/v1/profile")
    assert assert_problem(response, 401)["code"] == "not-signed-in"
    assert await session_row(app, token) is None
    assert await signed_in_status(api) == 401


async def test_a_session_ends_at_its_absolute_limit_however_active(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    await api.register()
    token = session_of(api)
    now = dt.datetime.now(dt.UTC)
    await change_session(
        app, token, absolute_expires_at=now - dt.timedelta(seconds=1), idle_expires_at=now + dt.timedelta(days=1)
    )
    assert assert_problem(await api.get("/api/v1/profile"), 401)["code"] == "not-signed-in"
    assert await session_row(app, token) is None


async def test_activity_extends_the_idle_limit_but_never_past_the_absolute_one(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    await api.register()
    token = session_of(api)
    now = dt.datetime.now(dt.UTC)
    absolute = now + dt.timedelta(hours=1)
    await change_session(
        app,
        token,
        last_seen_at=now - dt.timedelta(minutes=10),
        idle_expires_at=now + dt.timedelta(minutes=1),
        absolute_expires_at=absolute,
    )
    assert await signed_in_status(api) == 200
    row = await session_row(app, token)
    assert row is not None
    assert row.last_seen_at > now - dt.timedelta(seconds=5)
    assert abs(row.idle_expires_at - absolute) < dt.timedelta(seconds=1)
    assert abs(row.absolute_expires_at - absolute) < dt.timedelta(seconds=1)


async def test_a_clinician_session_idles_out_after_thirty_minutes(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    await api.register("clinician")
    token = session_of(api)
    now = dt.datetime.now(dt.UTC)
    await change_session(
        app,
        token,
        last_seen_at=now - dt.timedelta(minutes=31),
        idle_expires_at=now - dt.timedelta(minutes=1),
    )
    assert (await api.get("/api/v1/auth/session")).json()["user"] is None
    assert await session_row(app, token) is None


async def test_disabling_an_account_ends_its_sessions_and_sign_in(browser: Any, app: Litestar) -> None:
    api: Api = await browser()
    user = await api.register()
    token = session_of(api)
    assert await signed_in_status(api) == 200
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(disabled_at=dt.datetime.now(dt.UTC))
        )
        await db.commit()
    assert assert_problem(await api.get("/api/v1/profile"), 401)["code"] == "not-signed-in"
    assert await session_row(app, token) is None
    refused = await sign_in(await browser(), user["email"], user["password"])
    assert assert_problem(refused, 401)["code"] == "bad-credentials"


async def test_a_made_up_or_oversized_cookie_signs_nobody_in(browser: Any) -> None:
    for value in ("made-up", "x" * 43, "y" * 5000):
        api = await holding(browser, value)
        assert await signed_in_status(api) == 401


# --- CSRF (ASVS 3.5.1) -------------------------------------------------------------------------------------------


def episode(**overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "cramp",
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "intensity": 5,
        "body_sites": [{"site": "calf", "side": "left"}],
    }
    body.update(overrides)
    return body


async def test_writes_without_the_csrf_token_are_refused(patient: Api) -> None:
    episode_id = uuid.uuid4()
    url = f"/api/v1/episodes/{episode_id}"
    altered = patient.csrf[:-1] + ("1" if patient.csrf.endswith("0") else "0")  # one character off
    for headers in ({}, {"x-csrf-token": ""}, {"x-csrf-token": "0" * 64}, {"x-csrf-token": altered}):
        put = await patient.client.put(url, json=episode(), headers=headers)
        assert assert_problem(put, 403)["code"] == "csrf-failed", headers
        delete = await patient.client.delete(url, headers=headers)
        assert assert_problem(delete, 403)["code"] == "csrf-failed", headers
        post = await patient.client.post("/api/v1/auth/sign-out", headers=headers)
        assert assert_problem(post, 403)["code"] == "csrf-failed", headers
    assert (await patient.get(url)).status_code == 404
    assert await signed_in_status(patient) == 200  # the refused sign-out did nothing
    # ...and with the right token the same write goes through.
    assert (await patient.put(url, json=episode())).status_code == 201


async def test_a_csrf_token_belongs_to_one_session(patient: Api, other_patient: Api) -> None:
    episode_id = uuid.uuid4()
    url = f"/api/v1/episodes/{episode_id}"
    borrowed = await other_patient.client.put(url, json=episode(), headers={"x-csrf-token": patient.csrf})
    assert assert_problem(borrowed, 403)["code"] == "csrf-failed"
    assert (await other_patient.get(url)).status_code == 404
    out = await other_patient.client.post("/api/v1/auth/sign-out", headers={"x-csrf-token": patient.csrf})
    assert out.status_code == 403
    assert await signed_in_status(other_patient) == 200


async def test_register_and_sign_in_need_the_csrf_token(browser: Any, app: Litestar, patient: Api) -> None:
    assert patient.user is not None
    no_cookie: Api = await browser()
    response = await no_cookie.client.post("/api/v1/auth/register", json=registration())
    assert assert_problem(response, 403)["code"] == "csrf-failed"

    api = await anonymous(browser)
    body = registration()
    response = await api.client.post("/api/v1/auth/register", json=body)  # the cookie, but no token
    assert assert_problem(response, 403)["code"] == "csrf-failed"
    assert await user_row(app, body["email"]) is None

    other = await anonymous(browser)  # another anonymous browser's token is no good here
    credentials = {"email": patient.user["email"], "password": patient.user["password"]}
    response = await api.client.post("/api/v1/auth/sign-in", json=credentials, headers={"x-csrf-token": other.csrf})
    assert assert_problem(response, 403)["code"] == "csrf-failed"
    assert set_cookie_header(response, SESSION_COOKIE) is None


async def test_an_anonymous_browser_gets_a_token_that_works_for_register_and_sign_in(
    browser: Any, patient: Api
) -> None:
    assert patient.user is not None
    api: Api = await browser()
    response = await api.client.get("/api/v1/auth/session")
    assert response.status_code == 200
    assert response.json()["user"] is None
    assert response.json()["csrf_token"]
    assert "no-store" in response.headers["cache-control"]
    anon = set_cookie_header(response, "spasm_csrf")
    assert anon is not None and "httponly" in cookie_attributes(anon)
    # Asking again gives the same token while the anonymous cookie lasts.
    assert (await api.client.get("/api/v1/auth/session")).json()["csrf_token"] == response.json()["csrf_token"]

    api.csrf = response.json()["csrf_token"]
    assert (await api.post("/api/v1/auth/register", json=registration())).status_code == 201

    other: Api = await browser()
    await other.refresh_csrf()
    credentials = {"email": patient.user["email"], "password": patient.user["password"]}
    assert (await other.post("/api/v1/auth/sign-in", json=credentials)).status_code == 200


async def test_after_the_server_ends_a_session_the_browser_can_sign_in_again(browser: Any, app: Litestar) -> None:
    """The browser still holds the cookie of a session that expired on the server; /session must give it a token
    that works for signing in again (otherwise the person is stuck until they clear their cookies)."""
    api: Api = await browser()
    user = await api.register()
    token = session_of(api)
    await change_session(app, token, idle_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert await signed_in_status(api) == 401

    await api.refresh_csrf()
    assert api.user is None
    response = await api.post("/api/v1/auth/sign-in", json={"email": user["email"], "password": user["password"]})
    assert response.status_code == 200, response.text
    assert session_of(api) != token
    api.csrf = response.json()["csrf_token"]
    assert await signed_in_status(api) == 200


async def test_pages_and_api_share_one_anonymous_token(browser: Any) -> None:
    """A token fetched from /api/v1/auth/session signs a script's request; the same browser's form token matches."""
    api = await anonymous(browser)
    page = await api.client.get("/sign-in")
    assert f'name="_csrf" value="{api.csrf}"' in page.text


# --- text fields (the diary's own check: backend/diary/validation.text_problem) ---------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "Ana\x00Test"),
        ("display_name", "Ana\r\nSet-Cookie: x=y"),
        ("display_name", "Ana\tTest"),
        ("display_name", "\u202eAna Test"),
        ("display_name", "Ana \u2066Test\u2069"),
        ("display_name", "Ana\x85Test"),
        ("email", "ana\x00@example.org"),
        ("email", "ana\u202e@example.org"),
    ],
)
async def test_account_text_with_control_or_direction_characters_is_refused(
    browser: Any, app: Litestar, field: str, value: str
) -> None:
    api = await anonymous(browser)
    body = registration(**{"display_name": f"Marker {uuid.uuid4().hex}", field: value})
    response = await api.post("/api/v1/auth/register", json=body)
    problem = assert_problem(response, 422, field)
    assert set_cookie_header(response, SESSION_COOKIE) is None
    assert problem["errors"][0]["reason"].startswith("contains")
    clean = registration()["display_name"] if field == "display_name" else body["display_name"]
    async with app.state.sessionmaker() as db:  # nothing was stored (looked up by a field without the odd text)
        if field == "email":
            assert (await db.execute(select(User).where(User.display_name == clean))).first() is None
        else:
            assert await user_row(app, body["email"]) is None


async def test_right_to_left_names_are_welcome(browser: Any) -> None:
    api = await anonymous(browser)
    response = await api.post("/api/v1/auth/register", json=registration(display_name="\u200fسارة أحمد"))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["display_name"] == "\u200fسارة أحمد"
