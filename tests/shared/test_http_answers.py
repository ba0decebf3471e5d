"""The details of the answers an outside tester checked: Allow on OPTIONS, the Host allow-list in production,
RateLimit-* headers on limited routes, one charset per Content-Type, and plausible dates for Ashworth grades and
appointments."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.app import create_app
from backend.config import load_settings
from tests.care.test_access_matrix import make_link
from tests.conftest import Api, make_settings, production_settings

SAMPLES = {"uuid": str(uuid.uuid4()), "date": "2026-11-02", "str": "sample"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+:(\w+)\}", lambda m: SAMPLES.get(m.group(1), "x"), path)


async def test_options_lists_every_method_of_a_path(app: Litestar, patient: Api) -> None:
    """An episode is GET, PUT and DELETE from three handlers; OPTIONS used to say only "DELETE, OPTIONS"."""
    split = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/static"):
            continue
        handlers = {id(h) for h, _ in route.route_handler_map.values() if h.handler_name != "options_handler"}
        split += len(handlers) > 1
        response = await patient.client.options(concrete(route.path))
        assert response.status_code == 204, (route.path, response.text)
        assert set(response.headers["allow"].split(", ")) == set(route.methods), route.path
    assert split >= 9  # the resources whose methods are spread over several handlers
    episode = await patient.client.options(f"/api/v1/episodes/{uuid.uuid4()}")
    assert episode.headers["allow"] == "DELETE, GET, OPTIONS, PUT"


# ---- allowed hosts --------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def production_app(database_url: str) -> AsyncIterator[Litestar]:
    app = create_app(production_settings(database_url, allowed_hosts=("diary.example.org",)))
    try:
        yield app
    finally:
        await app.state.engine.dispose()


async def status_for(app: Litestar, host: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as client:
        return (await client.get("/healthz", headers={"host": host})).status_code


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "testserver.local.evil.example",
        "testserverXlocal",
        "x.testserver.local",
        "diary.example.org.evil",
        "diaryXexample.org",
        "127.0.0.1",
    ],
)
async def test_production_answers_another_host_with_400(production_app: Litestar, host: str) -> None:
    assert await status_for(production_app, host) == 400


async def test_production_answers_its_own_host_and_the_listed_ones(production_app: Litestar) -> None:
    for host in ("testserver.local", "diary.example.org"):
        assert await status_for(production_app, host) == 200, host


async def test_the_host_list_comes_from_the_environment() -> None:
    base = {"SPASM_ENV": "production", "SPASM_SECRET_KEY": "s" * 40, "SPASM_BASE_URL": "https://diary.example.org"}
    settings = load_settings({**base, "SPASM_ALLOWED_HOSTS": " Diary.Example.net , other.example.org"})
    assert settings.hosts == ("diary.example.org", "diary.example.net", "other.example.org")
    assert load_settings(base).hosts == ("diary.example.org",)
    with_port = load_settings({**base, "SPASM_BASE_URL": "https://Diary.example.org:8443/"})
    assert with_port.hosts == ("diary.example.org:8443",)  # browsers send the port when it is not the default
    assert load_settings({}).hosts == ()  # a laptop answers any name unless told


# ---- RateLimit headers ----------------------------------------------------------------------------------------------


async def test_limited_routes_say_what_is_left(database_url: str) -> None:
    app = create_app(make_settings(database_url, limit_register_per_address=2, limit_writes_per_minute=2))
    address = f"10.20.{uuid.uuid4().int % 250}.1"

    async def browser() -> Api:
        api = Api(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(address, 1)), base_url="http://testserver.local"
            )
        )
        await api.refresh_csrf()
        return api

    first = await browser()
    await first.register("patient")
    second = await browser()
    body = {"email": f"n-{uuid.uuid4().hex[:8]}@example.org", "password": "a long enough phrase", "display_name": "N"}
    answered = await second.post("/api/v1/auth/register", json=body)
    assert answered.status_code == 201
    assert answered.headers["ratelimit-limit"] == "2" and answered.headers["ratelimit-remaining"] == "0"
    assert 0 < int(answered.headers["ratelimit-reset"]) <= 3600
    third = await browser()
    refused = await third.post("/api/v1/auth/register", json={**body, "email": f"m-{uuid.uuid4().hex[:8]}@example.org"})
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "2" and refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]

    saved = await first.put("/api/v1/checkins/2026-11-02", json={"no_episodes": True})
    assert saved.headers["ratelimit-limit"] == "2" and saved.headers["ratelimit-remaining"] == "1"
    episode = {
        "kind": "cramp",
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        "intensity": 1,
        "body_sites": [{"site": "calf", "side": "left"}],
    }
    assert (await first.put(f"/api/v1/episodes/{uuid.uuid4()}", json=episode)).status_code == 201
    too_many = await first.put(f"/api/v1/episodes/{uuid.uuid4()}", json=episode)
    assert too_many.status_code == 429 and too_many.headers["ratelimit-limit"] == "2"
    assert too_many.headers["ratelimit-remaining"] == "0" and int(too_many.headers["ratelimit-reset"]) <= 60
    plain = await first.get("/api/v1/profile")
    assert "ratelimit-limit" not in plain.headers  # only limited routes carry them
    await app.state.engine.dispose()


# ---- one charset ----------------------------------------------------------------------------------------------------


async def test_exports_feeds_and_the_worker_name_one_charset(patient: Api) -> None:
    feed = (await patient.post("/api/v1/calendar-feed")).json()["url"]
    answers = {
        "csv": await patient.get("/api/v1/export/csv"),
        "ics": await patient.client.get(feed.removeprefix("http://testserver.local")),
        "sw.js": await patient.client.get("/sw.js"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
        content_type = response.headers["content-type"]
        assert content_type.lower().count("charset") == 1, (name, content_type)
    assert answers["csv"].headers["content-type"] == "text/csv; charset=utf-8"
    assert answers["ics"].headers["content-type"] == "text/calendar; charset=utf-8"
    assert answers["sw.js"].headers["content-type"] == "text/javascript; charset=utf-8"


# ---- plausible dates ------------------------------------------------------------------------------------------------


async def test_ashworth_grades_need_a_plausible_date_and_plain_text(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    await make_link(app, patient, clinician, "active", ["view", "annotate", "notify"])
    assert patient.user is not None
    url = f"/api/v1/patients/{patient.user['id']}/ashworth"
    grade = {"muscle_group": "elbow_flexors", "side": "left", "grade": "1+"}
    today = dt.date.today()
    for day in ("0001-01-01", (today - dt.timedelta(days=3700)).isoformat(), "9999-12-31"):
        refused = await clinician.post(url, json={**grade, "assessed_on": day})
        assert refused.status_code in (400, 422), (day, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["assessed_on"], day
    bad_note = await clinician.post(url, json={**grade, "assessed_on": today.isoformat(), "note": "left\x00arm"})
    assert bad_note.status_code == 422 and [e["field"] for e in bad_note.json()["errors"]] == ["note"]
    assert (await clinician.post(url, json={**grade, "assessed_on": today.isoformat()})).status_code == 201
    assert [g["grade"] for g in (await clinician.get(url)).json()] == ["1+"]


async def test_appointments_need_a_plausible_time_by_the_api_and_the_form(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    await make_link(app, patient, clinician, "active", ["view", "notify"])
    assert patient.user is not None
    url = f"/api/v1/patients/{patient.user['id']}/appointments"
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2020-01-01T10:00:00Z"):
        refused = await clinician.post(url, json={"starts_at": moment})
        assert refused.status_code in (400, 422), (moment, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["starts_at"], moment
    overridden = await clinician.post(url, json={"starts_at": soon(), "place": "Room \u202e4"})
    assert overridden.status_code == 422 and [e["field"] for e in overridden.json()["errors"]] == ["place"]
    form = {"accept": "text/html", "content-type": "application/x-www-form-urlencoded"}
    page_url = f"/patients/{patient.user['id']}/appointments"
    for local in ("0001-01-01T00:00", "9999-12-31T23:59"):
        answer = await clinician.client.post(page_url, data={"_csrf": clinician.csrf, "starts_at": local}, headers=form)
        assert 400 <= answer.status_code < 500, (local, answer.status_code)
    assert (await patient.get("/api/v1/appointments")).json() == []


def soon() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()


def test_a_settings_helper_for_production_is_what_production_is() -> None:
    settings: Any = production_settings("sqlite+aiosqlite://")
    assert settings.production and settings.secure_cookies and settings.hosts == ("testserver.local",)
