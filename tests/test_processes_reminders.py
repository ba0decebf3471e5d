"""Two app processes on one database, each with its dispatcher running: a reminder due once is sent once.

Both processes run their reminder loop every second (SPASM_REMINDER_SECONDS=1). A patient subscribes a browser of
our own (tests/reminders/support.py) to Web Push; 20 reminders become due, in a few batches so that both loops get a
chance at them. Whichever process claims a reminder, the push service must receive each exactly once, and the log of
delivery attempts must hold exactly one delivered push per reminder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import make_engine, make_sessionmaker
from backend.reminders.models import DeliveryAttempt, Reminder
from tests.conftest import make_settings
from tests.reminders.support import Browser, PushReceiver, Queued, queue_reminders, vapid_parts, verify_es256_jwt
from tests.support.databases import DatabaseServer, migrate
from tests.support.servers import free_port, start_server

T = TypeVar("T")
N = 20
SUBJECT = "mailto:reminders-test@example.org"


def on_database(url: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Runs `work(sessionmaker)` against the database directly, bypassing both processes."""

    async def run() -> T:
        engine = make_engine(make_settings(url))
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_reminder_due_once_is_sent_once_by_two_processes(database_server: DatabaseServer, tmp_path: Path) -> None:
    url = database_server.new_database(f"reminder_processes_{uuid.uuid4().hex[:8]}")
    migrate(url)
    ports = [free_port(), free_port()]
    with PushReceiver() as receiver:
        servers = [
            start_server(
                url,
                port,
                tmp_path / f"server-{i}.log",
                SPASM_REMINDER_SECONDS="1",
                SPASM_VAPID_SUBJECT=SUBJECT,
                SPASM_SMTP_HOST="",
            )
            for i, port in enumerate(ports)
        ]
        try:
            a = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=10)
            token = a.get("/api/v1/auth/session").json()["csrf_token"]
            account = {
                "email": f"r-{uuid.uuid4().hex[:8]}@example.org",
                "password": "shared pass-phrase",
                "display_name": "R",
            }
            made = a.post("/api/v1/auth/register", headers={"x-csrf-token": token}, json=account)
            assert made.status_code == 201, made.text
            patient_id = uuid.UUID(made.json()["user"]["id"])
            b = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=10, cookies=a.cookies)
            browser = Browser(receiver.endpoint())
            subscribed = b.post(
                "/api/v1/push/subscriptions",
                json=browser.subscription(),
                headers={"x-csrf-token": made.json()["csrf_token"]},
            )
            assert subscribed.status_code == 201, subscribed.text
            keys = {a.get("/api/v1/push/key").json()["public_key"], b.get("/api/v1/push/key").json()["public_key"]}
            assert len(keys) == 1, "every process signs with the one key kept in the database"

            queued: list[Queued] = []

            async def batch(maker: async_sessionmaker[AsyncSession]) -> list[Queued]:
                return await queue_reminders(maker, patient_id, dt.datetime.now(dt.UTC), n=N // 4)

            for _ in range(4):  # in batches, so that both processes' loops find some due
                queued += on_database(url, batch)
                time.sleep(0.6)

            async def statuses(maker: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID, str]:
                async with maker() as db:
                    found = (
                        await db.execute(select(Reminder.id, Reminder.status).where(Reminder.patient_id == patient_id))
                    ).all()
                    return {row.id: row.status for row in found}

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                now_statuses = set(on_database(url, statuses).values())
                if now_statuses == {"sent"} or "cancelled" in now_statuses:  # cancelled: a planning pass raced us
                    break
                time.sleep(0.2)
            final = on_database(url, statuses)
            logs = "\n".join(log.read_text()[-2000:] for log in sorted(tmp_path.glob("server-*.log")))
            assert set(final.values()) == {"sent"}, f"{Counter(final.values())}\n{logs}"
            time.sleep(2.5)  # two more rounds of each process: nothing is sent again
        finally:
            for server in servers:
                server.kill()
                server.wait(timeout=10)

        pushes = receiver.at(browser.endpoint)

    assert len(final) == N
    tags = Counter(browser.decrypt(p.body)["tag"] for p in pushes)
    assert tags == Counter({q.key: 1 for q in queued}), "each reminder reached the browser exactly once"
    for push in pushes:
        parts = vapid_parts(push.headers["authorization"])
        assert parts["k"] in keys
        assert verify_es256_jwt(parts["t"], parts["k"])["sub"] == SUBJECT

    async def attempts(maker: async_sessionmaker[AsyncSession]) -> list[DeliveryAttempt]:
        async with maker() as db:
            return list(
                (await db.execute(select(DeliveryAttempt).where(DeliveryAttempt.patient_id == patient_id))).scalars()
            )

    logged = on_database(url, attempts)
    assert Counter((x.reminder_id, x.channel, x.outcome) for x in logged) == Counter(
        {(q.id, "push", "delivered"): 1 for q in queued}
    )
    dispatchers = Counter(x.dispatcher for x in logged)
    assert len(dispatchers) in (1, 2), dispatchers  # which process took which reminder depends on timing
    pids = {str(server.pid) for server in servers}
    assert {name.rsplit(":", 2)[1] for name in dispatchers if name} <= pids, dispatchers  # host:pid:random
    print(f"delivered by: {dict(dispatchers)}")
