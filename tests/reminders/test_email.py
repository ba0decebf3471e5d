"""Reminders by e-mail, through a real SMTP server (aiosmtpd) on 127.0.0.1.

Mail is not end-to-end encrypted, so a message only says that a reminder is waiting, names its title and links to
/reminders; the reminder's body text stays in the app. Only patients who chose e-mail get any.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from litestar import Litestar

from backend.app import create_app
from tests.conftest import Api, make_settings
from tests.reminders.support import (
    attempt_columns,
    attempts_of,
    delivering_only,
    queue_reminders,
    reminder,
    words_absent,
)
from tests.support.mail import Mailbox
from tests.support.servers import free_port

SUBJECT_EN = "A reminder from your spasm diary"
SUBJECT_ES = "Un recordatorio de tu diario de espasmos"


@pytest_asyncio.fixture(loop_scope="session")
async def mail_app(database_url: str, smtp: tuple[Mailbox, int]) -> AsyncIterator[Litestar]:
    """A second app on the same database whose settings name the SMTP server."""
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_starttls=False)
    app = create_app(settings)
    try:
        yield app
    finally:
        await app.state.evaluator.drain()
        await app.state.engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def people(mail_app: Litestar) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def make(**fields: Any) -> Api:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://testserver.local")
        clients.append(client)
        api = Api(client)
        await api.register("patient", **fields)
        return api

    yield make
    for client in clients:
        await client.aclose()


def who(api: Api) -> tuple[uuid.UUID, str]:
    assert api.user is not None
    return uuid.UUID(api.user["id"]), api.user["email"]


async def choose(api: Api, **prefs: Any) -> None:
    response = await api.put("/api/v1/reminders/preferences", json=prefs)
    assert response.status_code == 200, response.text


async def test_a_patient_who_chose_e_mail_gets_one_message_per_reminder(
    mail_app: Litestar, people: Any, smtp: tuple[Mailbox, int]
) -> None:
    mailbox = smtp[0]
    api = await people()
    patient_id, address = who(api)
    await choose(api, email=True)
    assert (await api.get("/api/v1/reminders/preferences")).json()["email"] is True
    now = dt.datetime.now(dt.UTC)
    queued = await queue_reminders(mail_app.state.sessionmaker, patient_id, now - dt.timedelta(seconds=1), n=2)

    dispatcher = delivering_only(mail_app.state.dispatcher)
    await dispatcher.run_once(now)
    mails = mailbox.to(address)
    assert len(mails) == 2
    for mail in mails:
        assert mail.recipients == [address]
        assert mail.message["To"] == address
        assert mail.message["From"] == mail.sender == mail_app.state.settings.smtp_from
        assert mail.message["Subject"] == SUBJECT_EN
        assert "http://testserver.local/reminders" in mail.text
    texts = sorted(m.text for m in mails)
    for item in queued:
        assert sum(item.title in text for text in texts) == 1, "each reminder is named in exactly one message"
        assert all(item.body not in text for text in texts), "the reminder's body never travels by mail"
        assert (await reminder(mail_app.state.sessionmaker, patient_id, item.id)).status == "sent"
    attempts = await attempts_of(mail_app.state.sessionmaker, patient_id)
    assert sorted((a.reminder_id, a.channel, a.outcome) for a in attempts) == sorted(
        (item.id, "email", "delivered") for item in queued
    )
    words = [w for item in queued for w in (item.title, item.body)] + [address]
    assert words_absent(attempts, words, attempt_columns) == []
    # Sent is sent: a later round mails nothing more.
    await dispatcher.run_once(now + dt.timedelta(minutes=30))
    assert len(mailbox.to(address)) == 2


async def test_a_spanish_profile_gets_the_message_in_spanish(
    mail_app: Litestar, people: Any, smtp: tuple[Mailbox, int]
) -> None:
    mailbox = smtp[0]
    api = await people(language="es")
    _, address = who(api)
    zone = ZoneInfo("Europe/Madrid")
    at = (dt.datetime.now(zone) + dt.timedelta(hours=1)).strftime("%H:%M")
    await choose(api, email=True, daily_log_at=at)
    upcoming = [r for r in (await api.get("/api/v1/reminders")).json()["upcoming"] if r["kind"] == "daily_log"]
    planned = min(upcoming, key=lambda r: r["due_at"])
    assert planned["title"] == "Tu diario de hoy"

    await mail_app.state.dispatcher.run_once(dt.datetime.fromisoformat(planned["due_at"]) + dt.timedelta(seconds=1))
    [mail] = mailbox.to(address)
    assert mail.message["Subject"] == SUBJECT_ES
    assert "Tienes un recordatorio esperando: Tu diario de hoy." in mail.text
    assert "http://testserver.local/reminders" in mail.text
    assert planned["body"] not in mail.text and "espasmos o di" not in mail.text


async def test_no_mail_without_the_patients_choice(mail_app: Litestar, people: Any, smtp: tuple[Mailbox, int]) -> None:
    mailbox = smtp[0]
    never, opted_out = await people(), await people()
    await choose(opted_out, email=True)
    await choose(opted_out, email=False)
    now = dt.datetime.now(dt.UTC)
    queued = []
    for api in (never, opted_out):
        queued += await queue_reminders(mail_app.state.sessionmaker, who(api)[0], now)
    await delivering_only(mail_app.state.dispatcher).run_once(now)
    for api, item in zip((never, opted_out), queued, strict=True):
        patient_id, address = who(api)
        assert mailbox.to(address) == []
        assert (await reminder(mail_app.state.sessionmaker, patient_id, item.id)).status == "sent"
        attempts = await attempts_of(mail_app.state.sessionmaker, patient_id)
        assert [(a.channel, a.outcome) for a in attempts] == [("inbox", "delivered")]


async def test_an_smtp_server_that_is_down_means_trying_again_later(
    mail_app: Litestar, people: Any, smtp: tuple[Mailbox, int]
) -> None:
    api = await people()
    patient_id, _ = who(api)
    await choose(api, email=True)
    settings = make_settings(
        mail_app.state.settings.database_url, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False
    )
    down = create_app(settings)  # the same database, an SMTP port where nothing listens
    try:
        now = dt.datetime.now(dt.UTC)
        [item] = await queue_reminders(down.state.sessionmaker, patient_id, now)
        await delivering_only(down.state.dispatcher).run_once(now)
        row = await reminder(down.state.sessionmaker, patient_id, item.id)
        assert row.status == "pending" and row.next_attempt_at > now and row.attempts == 1
        attempts = await attempts_of(down.state.sessionmaker, patient_id)
        assert [(a.channel, a.outcome) for a in attempts] == [("email", "failed")]
    finally:
        await down.state.engine.dispose()
    # The mail server is there again: the retry goes out.
    await delivering_only(mail_app.state.dispatcher).run_once(row.next_attempt_at)
    assert (await reminder(mail_app.state.sessionmaker, patient_id, item.id)).status == "sent"
    assert len(smtp[0].to(who(api)[1])) == 1
