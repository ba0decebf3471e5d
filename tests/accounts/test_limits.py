"""Abuse limits: counted in the database, so every process shares them, and keyed on the real peer address."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest_asyncio
from litestar import Litestar
from sqlalchemy import update

from backend.accounts import throttle
from backend.accounts.models import SignInThrottle
from backend.app import create_app
from tests.conftest import Api, make_settings


@pytest_asyncio.fixture(loop_scope="session")
async def strict_apps(database_url: str) -> list[Litestar]:
    """Two app instances on one database: two processes behind a load balancer."""
    settings = make_settings(
        database_url, limit_sign_in_per_address=4, sign_in_free_failures=3, limit_register_per_address=2
    )
    return [create_app(settings), create_app(settings)]


@pytest_asyncio.fixture(loop_scope="session")
async def guarded_apps(database_url: str) -> list[Litestar]:
    """Two processes whose only sign-in limit is the growing delay, after 3 free failures."""
    settings = make_settings(database_url, sign_in_free_failures=3)
    return [create_app(settings), create_app(settings)]


async def browser_at(app: Litestar, address: str) -> Api:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://testserver.local"
    )
    api = Api(client)
    await api.refresh_csrf()
    return api


async def sign_in(api: Api, email: str, password: str = "wrong password!", **headers: str) -> int:
    response = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": password}, headers=headers)
    return int(response.status_code)


async def registered(app: Litestar, address: str) -> dict[str, Any]:
    owner = await browser_at(app, address)
    return await owner.register("clinician")


async def throttle_row(app: Litestar, email: str, address: str) -> SignInThrottle | None:
    async with app.state.sessionmaker() as db:
        return await db.get(SignInThrottle, throttle.pair_key(email, address))


async def set_wait(app: Litestar, email: str, address: str, wait_until: dt.datetime) -> None:
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == throttle.pair_key(email, address))
            .values(wait_until=wait_until)
        )
        await db.commit()


def test_the_wait_grows_with_each_failure_and_is_capped() -> None:
    waits = [throttle.wait_after(n, free=3).total_seconds() for n in range(12)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert throttle.wait_after(40) == throttle.LONGEST_WAIT == dt.timedelta(minutes=15)
    assert throttle.wait_after(10**6) == throttle.LONGEST_WAIT


async def test_wrong_passwords_make_that_address_wait_but_never_lock_the_owner_out(
    guarded_apps: list[Litestar],
) -> None:
    """The outside tester's finding: ten wrong passwords locked the right one out too, so anyone who knew a
    clinician's e-mail could keep them out. Now only the guesser's address at that account waits."""
    home, attacker_address = f"10.8.{uuid.uuid4().int % 250}.2", f"10.9.{uuid.uuid4().int % 250}.3"
    owner = await registered(guarded_apps[0], home)
    attacker = await browser_at(guarded_apps[1], attacker_address)
    assert [await sign_in(attacker, owner["email"]) for _ in range(3)] == [401, 401, 401]
    row = await throttle_row(guarded_apps[0], owner["email"], attacker_address)
    assert row is not None and row.failures == 3
    assert row.wait_until - row.last_failure_at == dt.timedelta(seconds=1)  # the first wait

    # As after many more failures: a long wait. Every attempt in it is refused unread, right password or not.
    await set_wait(guarded_apps[0], owner["email"], attacker_address, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9))
    for password in ("another guess!", owner["password"]):
        refused = await attacker.post("/api/v1/auth/sign-in", json={"email": owner["email"], "password": password})
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 9 * 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert int(refused.headers["ratelimit-reset"]) == int(refused.headers["retry-after"])
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await throttle_row(guarded_apps[0], owner["email"], attacker_address)).failures == 3  # type: ignore[union-attr]

    # Meanwhile the owner, at their own address and on either process, signs in at once.
    for app in guarded_apps:
        assert await sign_in(await browser_at(app, home), owner["email"], owner["password"]) == 200

    # When the wait is over the attacker may guess again, and waits longer after each failure.
    await set_wait(guarded_apps[0], owner["email"], attacker_address, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert await sign_in(attacker, owner["email"]) == 401
    row = await throttle_row(guarded_apps[0], owner["email"], attacker_address)
    assert row is not None and row.failures == 4 and row.wait_until - row.last_failure_at == dt.timedelta(seconds=2)


async def test_a_right_password_ends_the_count_for_its_address(guarded_apps: list[Litestar]) -> None:
    address = f"10.10.{uuid.uuid4().int % 250}.4"
    owner = await registered(guarded_apps[0], address)
    api = await browser_at(guarded_apps[0], address)
    assert [await sign_in(api, owner["email"]) for _ in range(2)] == [401, 401]
    assert await sign_in(api, owner["email"], owner["password"]) == 200
    assert await throttle_row(guarded_apps[0], owner["email"], address) is None


async def test_failures_from_a_day_ago_are_forgotten(app: Litestar) -> None:
    key = throttle.pair_key(f"old-{uuid.uuid4().hex[:8]}@example.org", "10.11.0.1")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    async with app.state.sessionmaker() as db:
        for _ in range(9):
            await throttle.failed(db, key, now=long_ago)
        await db.commit()
        await throttle.check(db, key)  # the long wait it earned is over, and the count is stale
        await throttle.failed(db, key)
        await db.commit()
        row = await db.get(SignInThrottle, key)
        assert row is not None
        await db.refresh(row)
        assert row.failures == 1


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
        response = await api.post(
            "/api/v1/auth/register",
            json={
                "email": f"new-{uuid.uuid4().hex[:8]}@example.org",
                "password": "a long enough pass-phrase",
                "display_name": "New",
            },
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]


async def test_another_address_is_not_blocked_by_a_noisy_one(strict_apps: list[Litestar]) -> None:
    noisy = await browser_at(strict_apps[0], f"10.5.{uuid.uuid4().int % 250}.1")
    for _ in range(5):
        await sign_in(noisy, f"x-{uuid.uuid4().hex[:8]}@example.org")
    calm = await browser_at(strict_apps[0], f"10.6.{uuid.uuid4().int % 250}.1")
    assert await sign_in(calm, f"y-{uuid.uuid4().hex[:8]}@example.org") == 401


async def test_diary_writes_per_patient_are_limited(database_url: str) -> None:
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
