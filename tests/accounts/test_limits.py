"""Abuse limits: counted in the database, so every process shares them, and keyed on the real peer address."""

from __future__ import annotations

import uuid

import httpx
import pytest_asyncio
from litestar import Litestar

from backend.app import create_app
from tests.conftest import Api, make_settings


@pytest_asyncio.fixture(loop_scope="session")
async def strict_apps(database_url: str) -> list[Litestar]:
    """Two app instances on one database: two processes behind a load balancer."""
    settings = make_settings(database_url, limit_sign_in_per_address=4, limit_sign_in_per_account=3,
                             limit_register_per_address=2)  # fmt: skip
    return [create_app(settings), create_app(settings)]


async def browser_at(app: Litestar, address: str) -> Api:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                               base_url="http://testserver.local")  # fmt: skip
    api = Api(client)
    await api.refresh_csrf()
    return api


async def sign_in(api: Api, email: str, password: str = "wrong password!", **headers: str) -> int:
    response = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": password}, headers=headers)
    return int(response.status_code)


async def test_sign_in_attempts_per_account_are_counted_across_processes_and_addresses(
    strict_apps: list[Litestar],
) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    a = await browser_at(strict_apps[0], f"10.1.{uuid.uuid4().int % 250}.1")
    b = await browser_at(strict_apps[1], f"10.2.{uuid.uuid4().int % 250}.1")
    statuses = [await sign_in(a, email), await sign_in(b, email), await sign_in(a, email), await sign_in(b, email)]
    assert statuses == [401, 401, 401, 429]
    limited = await b.post("/api/v1/auth/sign-in", json={"email": email, "password": "x" * 10})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")


async def test_changing_x_forwarded_for_does_not_reset_the_address_counter(strict_apps: list[Litestar]) -> None:
    address = f"10.3.{uuid.uuid4().int % 250}.7"
    api = await browser_at(strict_apps[0], address)
    statuses = []
    for i in range(6):
        email = f"someone-{uuid.uuid4().hex[:8]}@example.org"  # a new account each time: only the address repeats
        statuses.append(
            await sign_in(api, email, **{"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}"})
        )
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]


async def test_registrations_per_address_are_limited(strict_apps: list[Litestar]) -> None:
    address = f"10.4.{uuid.uuid4().int % 250}.9"
    statuses = []
    for app in (strict_apps[0], strict_apps[1], strict_apps[0]):
        api = await browser_at(app, address)
        response = await api.post("/api/v1/auth/register", json={
            "email": f"new-{uuid.uuid4().hex[:8]}@example.org", "password": "a long enough pass-phrase",
            "display_name": "New"})  # fmt: skip
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]


async def test_another_address_is_not_blocked_by_a_noisy_one(strict_apps: list[Litestar]) -> None:
    noisy = await browser_at(strict_apps[0], f"10.5.{uuid.uuid4().int % 250}.1")
    for _ in range(5):
        await sign_in(noisy, f"x-{uuid.uuid4().hex[:8]}@example.org")
    calm = await browser_at(strict_apps[0], f"10.6.{uuid.uuid4().int % 250}.1")
    assert await sign_in(calm, f"y-{uuid.uuid4().hex[:8]}@example.org") == 401


async def test_diary_writes_per_patient_are_limited(database_url: str) -> None:
    import datetime as dt

    app = create_app(make_settings(database_url, limit_writes_per_minute=3))
    busy = await browser_at(app, "10.7.0.1")
    await busy.register("patient")
    calm = await browser_at(app, "10.7.0.1")
    await calm.register("patient")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    body = {"kind": "spasm", "started_at": start, "intensity": 3, "body_sites": [{"site": "calf", "side": "left"}]}
    statuses = [(await busy.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = await busy.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) <= 60
    assert (await calm.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201
    listed = (await busy.get("/api/v1/episodes")).json()["items"]
    assert len(listed) == 3  # the refused writes left nothing behind
