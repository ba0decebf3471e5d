"""Test set-up with real components: a real SQLite file, or a real PostgreSQL server started here.

SPASM_TEST_DATABASE=sqlite (the default) or postgresql picks the database; `make test` runs the suite once with each.
The schema is built by the Alembic migrations, exactly as in production, once per run. Tests stay independent by
registering their own people rather than by emptying tables.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings
from litestar import Litestar

from backend.app import create_app
from backend.config import Settings
from tests.support.databases import DatabaseServer, make_database_server, migrate
from tests.support.mail import smtp  # noqa: F401  (a fixture: a real SMTP server and its mailbox)

logging.getLogger("httpx").setLevel(logging.WARNING)
# In CI every run explores the same examples, so a submission is judged on its code, not on the dice; on a developer's
# machine Hypothesis keeps searching for new counter-examples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
TEST_SECRET = "test-secret-" + "x" * 40
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked by what it needs: ``browser`` (Chromium and a live server, tests/browser), ``server`` (a
    real database, and most an app on it), or ``pure`` (plain data in and out: the rules, the planner, the summary,
    validation). `pytest -m pure` runs the fast ones in seconds; `make test` runs them all."""
    for item in items:
        if BROWSER_TESTS in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        elif {"database_url", "database_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
        else:
            item.add_marker(pytest.mark.pure)


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    server = make_database_server(os.environ.get("SPASM_TEST_DATABASE", "sqlite"), tmp_path_factory.mktemp("db"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(database_server: DatabaseServer) -> str:
    url = database_server.new_database("spasm_test")
    migrate(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "base_url": "http://testserver.local",
        "load_demo_data": False,
        "sweep_seconds": 0,
        "reminder_seconds": 0,
        "log_level": "warning",
        "flag_delay_seconds": 0,
        # Every test browser comes from the same address; the limits have tests of their own.
        "limit_sign_in_per_address": 1_000_000,
        "sign_in_free_failures": 1_000_000,
        "limit_register_per_address": 1_000_000,
        "limit_writes_per_minute": 1_000_000,
        "limit_redeem_per_hour": 1_000_000,
    }
    values.update(overrides)
    return Settings(**values)


def production_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings as in production (https, production rules), for the clients' https://testserver.local."""
    return make_settings(database_url, environment="production", base_url="https://testserver.local", **overrides)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


class Api:
    """One person's browser: its own cookies, and the CSRF token sent with every write."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""
        self.user: dict[str, Any] | None = None

    async def refresh_csrf(self) -> None:
        response = await self.client.get("/api/v1/auth/session")
        body = response.json()
        self.csrf = body["csrf_token"]
        self.user = body["user"]

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if method.upper() not in {"GET", "HEAD", "OPTIONS"}:
            headers.setdefault("x-csrf-token", self.csrf)
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)

    async def register(self, role: str = "patient", **fields: Any) -> dict[str, Any]:
        await self.refresh_csrf()
        body = {
            "email": f"{role}-{uuid.uuid4().hex[:12]}@example.org",
            "password": "a perfectly fine pass-phrase",
            "display_name": f"Test {role}",
            "role": role,
            "time_zone": "Europe/Madrid",
            **fields,
        }
        response = await self.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        self.csrf = response.json()["csrf_token"]
        self.user = {**response.json()["user"], "password": body["password"]}
        return self.user


@pytest_asyncio.fixture(loop_scope="session")
async def browser(app: Litestar) -> AsyncIterator[Any]:
    """A factory of independent browsers (separate cookie jars) on the same app, in the tests' own event loop."""
    clients: list[httpx.AsyncClient] = []

    async def make() -> Api:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
        clients.append(client)
        return Api(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def patient(browser: Any) -> Api:
    api: Api = await browser()
    await api.register("patient")
    return api


@pytest_asyncio.fixture(loop_scope="session")
async def other_patient(browser: Any) -> Api:
    api: Api = await browser()
    await api.register("patient")
    return api


@pytest_asyncio.fixture(loop_scope="session")
async def clinician(browser: Any) -> Api:
    api: Api = await browser()
    await api.register("clinician")
    return api


def run(coro: Any) -> Any:
    return asyncio.run(coro)
