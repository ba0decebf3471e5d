"""Claims: several dispatchers on one database deliver each due reminder once, and a crash delays but never loses.

These tests run on a database of their own (a new SQLite file, or a new PostgreSQL database on the run's server),
because a claim takes any due reminder of any patient: a dispatcher that "crashes" here must not hold another test's
reminders. Each dispatcher gets its own engine, as separate processes would have. The reminders are put straight
into the queue, so the dispatchers' rounds here only claim and deliver (support.delivering_only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.db import make_engine, make_sessionmaker
from backend.reminders import queue as services
from backend.reminders.dispatcher import Dispatcher
from backend.reminders.models import DeliveryAttempt, Reminder
from tests.conftest import Api, make_settings
from tests.reminders.support import Browser, PushReceiver, Queued, delivering_only, queue_reminders
from tests.support.databases import DatabaseServer, migrate


@pytest.fixture
def own_database(database_server: DatabaseServer) -> str:
    url = database_server.new_database(f"claims_{uuid.uuid4().hex[:8]}")
    migrate(url)
    return url


@dataclass
class World:
    app: Litestar
    patient: Api
    patient_id: uuid.UUID
    receiver: PushReceiver
    browser: Browser
    engines: list[AsyncEngine]

    def maker(self) -> async_sessionmaker[AsyncSession]:
        """A session factory on an engine of its own: one per simulated process."""
        engine = make_engine(self.app.state.settings)
        self.engines.append(engine)
        return make_sessionmaker(engine)

    def dispatcher(self, name: str) -> Dispatcher:
        return delivering_only(Dispatcher(self.maker(), self.app.state.settings, name=name))

    def tags(self) -> Counter[str]:
        return Counter(self.browser.decrypt(r.body)["tag"] for r in self.receiver.at(self.browser.endpoint))


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    with PushReceiver() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def world(own_database: str, receiver: PushReceiver) -> AsyncIterator[World]:
    app = create_app(make_settings(own_database))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
    patient = Api(client)
    user = await patient.register("patient")
    browser = Browser(receiver.endpoint())
    assert (await patient.post("/api/v1/push/subscriptions", json=browser.subscription())).status_code == 201
    made = World(app, patient, uuid.UUID(user["id"]), receiver, browser, [])
    try:
        yield made
    finally:
        await client.aclose()
        for engine in made.engines:
            await engine.dispose()
        await app.state.evaluator.drain()
        await app.state.engine.dispose()


async def rows(world: World) -> dict[uuid.UUID, Reminder]:
    async with world.app.state.sessionmaker() as db:
        found = (await db.execute(select(Reminder).where(Reminder.patient_id == world.patient_id))).scalars()
        return {r.id: r for r in found}


async def attempts(world: World) -> list[DeliveryAttempt]:
    async with world.app.state.sessionmaker() as db:
        return list(
            (await db.execute(select(DeliveryAttempt).where(DeliveryAttempt.patient_id == world.patient_id))).scalars()
        )


def assert_sent_once(world: World, queued: list[Queued], found: list[DeliveryAttempt], by: set[str]) -> None:
    per_reminder = Counter((a.reminder_id, a.channel, a.outcome) for a in found)
    assert per_reminder == Counter({(q.id, "push", "delivered"): 1 for q in queued}), per_reminder
    assert {a.dispatcher for a in found} <= by
    assert world.tags() == Counter({q.key: 1 for q in queued})


async def test_two_dispatchers_at_once_deliver_each_reminder_exactly_once(world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    queued = await queue_reminders(world.app.state.sessionmaker, world.patient_id, now - dt.timedelta(seconds=5), n=30)
    a, b = world.dispatcher("a"), world.dispatcher("b")
    delivered = await asyncio.gather(a.run_once(now), b.run_once(now))
    assert sum(delivered) == 30
    found = await rows(world)
    assert {r.status for r in found.values()} == {"sent"}
    assert {r.claimed_by for r in found.values()} <= {"a", "b"}
    assert all(r.attempts == 1 for r in found.values())
    assert_sent_once(world, queued, await attempts(world), {"a", "b"})
    # Another round of both finds nothing left to do.
    assert await asyncio.gather(
        a.run_once(now + dt.timedelta(minutes=5)), b.run_once(now + dt.timedelta(minutes=5))
    ) == [0, 0]
    assert sum(world.tags().values()) == 30


async def test_competing_claims_never_take_the_same_reminder(world: World) -> None:
    """The claim itself under contention: four claimers taking two at a time until nothing is left."""
    now = dt.datetime.now(dt.UTC)
    queued = await queue_reminders(world.app.state.sessionmaker, world.patient_id, now, n=30)
    makers = [world.maker() for _ in range(4)]
    taken: dict[str, list[uuid.UUID]] = {}

    async def claimer(name: str, maker: async_sessionmaker[AsyncSession]) -> None:
        taken[name] = []
        while True:
            async with maker() as db:
                got = await services.claim(db, now, name, limit=2)
            if not got:
                return
            taken[name] += [r.id for r in got]
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer(f"c{i}", m) for i, m in enumerate(makers)))
    everything = [rid for ids in taken.values() for rid in ids]
    assert Counter(everything) == Counter({q.id: 1 for q in queued})
    found = await rows(world)
    assert all(found[q.id].status == "claimed" and found[q.id].attempts == 1 for q in queued)
    assert {
        found[rid].claimed_by for name, ids in taken.items() for rid in ids if found[rid].claimed_by != name
    } == set()


async def test_a_crash_after_claiming_delays_the_reminders_but_never_loses_or_repeats_them(world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    queued = await queue_reminders(world.app.state.sessionmaker, world.patient_id, now, n=5)
    a, b = world.dispatcher("a"), world.dispatcher("b")
    # A claims, then "dies" before sending anything.
    async with a.maker() as db:
        held = await services.claim(db, now, a.name)
    assert sorted(r.id for r in held) == sorted(q.id for q in queued)
    assert all(r.claimed_until is not None and r.claimed_until > now for r in held)

    # Within A's lease, B leaves them alone ...
    assert await b.run_once(now + dt.timedelta(minutes=1)) == 0
    assert world.receiver.at(world.browser.endpoint) == []
    assert {(r.status, r.claimed_by) for r in (await rows(world)).values()} == {("claimed", "a")}

    # ... and once the lease has run out, B takes them over and delivers them.
    assert await b.run_once(now + dt.timedelta(minutes=3)) == 5
    after_b = await rows(world)
    assert {(r.status, r.claimed_by) for r in after_b.values()} == {("sent", "b")}
    assert_sent_once(world, queued, await attempts(world), {"b"})

    # A wakes up and finishes late, whatever its outcome (failed: back to the queue; skipped; sent at its own time):
    # B's result must stand.
    late = now + dt.timedelta(minutes=4)
    for stale in held:
        for values in (
            services.finish_values(False, stale.attempts, late),
            services.finish_values(False, stale.attempts, late, skipped=True),
            services.finish_values(True, stale.attempts, late),
        ):
            async with a.maker() as db:
                await a._finish(db, stale, values)
    final = await rows(world)
    for q in queued:
        assert final[q.id].status == "sent"
        assert final[q.id].claimed_by == "b"
        assert final[q.id].sent_at == after_b[q.id].sent_at
        assert final[q.id].next_attempt_at == after_b[q.id].next_attempt_at
    # Nothing was put back in the queue: later rounds of either send nothing more.
    assert await a.run_once(now + dt.timedelta(hours=1)) == 0
    assert await b.run_once(now + dt.timedelta(hours=1)) == 0
    assert_sent_once(world, queued, await attempts(world), {"b"})


async def test_a_dispatcher_that_outlives_its_lease_does_not_send_what_another_took_over(world: World) -> None:
    """A claims a batch with a 2-minute lease and sends one by one; each push may take up to 10 s, so a slow push
    service makes a batch outlast the lease. Here A's first push hangs while B, past the lease, takes the whole batch
    over and delivers it. When A's push returns, A must notice it no longer holds the rest: at most the one push that
    was already on the wire may be repeated, never the reminders A had not started on."""
    now = dt.datetime.now(dt.UTC)
    queued = await queue_reminders(world.app.state.sessionmaker, world.patient_id, now, n=6)
    release = threading.Event()
    world.receiver.hold = release  # A's first push hangs until B is done
    a, b = world.dispatcher("a"), world.dispatcher("b")
    try:
        running = asyncio.create_task(a.run_once(now))
        assert await asyncio.to_thread(world.receiver.holding.wait, 30), "A never started pushing"
        assert await b.run_once(now + dt.timedelta(minutes=3)) == 6
    finally:
        release.set()
    await asyncio.wait_for(running, 30)
    tags = world.tags()
    assert set(tags) == {q.key for q in queued}
    repeated = sorted(tag for tag, n in tags.items() if n > 1)
    assert len(repeated) <= 1, f"{len(repeated)} reminders were pushed twice: A kept sending after B took them over"
    assert {r.status for r in (await rows(world)).values()} == {"sent"}
