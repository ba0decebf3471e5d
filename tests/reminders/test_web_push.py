"""Reminders by Web Push, end to end against a push service of our own on 127.0.0.1.

A patient's browser is played by a key pair made here (RFC 8291: a P-256 key and a 16-byte auth secret), registered
through the API exactly as the app's script does it. One dispatcher round (`run_once`, by a dispatcher made like
`app.state.dispatcher`: the same sessionmaker and settings, but no memory of other tests' rounds) must then
POST to the subscription's endpoint a body only that browser can read (aes128gcm, RFC 8188/8291) carrying the
reminder's words and a same-origin link, signed with the service's VAPID key (RFC 8292). A push service that forgot
the subscription (404, 410) makes the app drop it; one that fails (500) makes the app try again later, with backoff.
The log of delivery attempts never holds the reminder's words.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from backend.reminders import queue as services
from backend.reminders.dispatcher import Dispatcher
from tests.conftest import Api
from tests.reminders.support import (
    Browser,
    PushReceiver,
    attempt_columns,
    attempts_of,
    delivering_only,
    queue_reminders,
    reminder,
    subscriptions_of,
    vapid_parts,
    verify_es256_jwt,
    words_absent,
)


@pytest.fixture
def dispatcher(app: Litestar) -> Dispatcher:
    """The app's dispatcher as create_app makes it, fresh for each test: the shared one remembers when it last
    planned, so rounds at moved clocks would plan or not depending on which test happened to run before."""
    return Dispatcher(app.state.sessionmaker, app.state.settings, name=f"push-test-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def deliverer(dispatcher: Dispatcher) -> Dispatcher:
    """The same, for reminders put straight into the queue (tests/reminders/support.delivering_only)."""
    return delivering_only(dispatcher)


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    with PushReceiver() as running:
        yield running


async def subscribe(patient: Api, receiver: PushReceiver) -> Browser:
    browser = Browser(receiver.endpoint())
    response = await patient.post("/api/v1/push/subscriptions", json=browser.subscription())
    assert response.status_code == 201, response.text
    return browser


def same_origin(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


def patient_id(patient: Api) -> uuid.UUID:
    assert patient.user is not None
    return uuid.UUID(patient.user["id"])


async def assert_words_not_logged(app: Litestar, patient: Api, words: list[str]) -> None:
    rows = await attempts_of(app.state.sessionmaker, patient_id(patient))
    assert rows, "every delivery attempt is logged"
    assert words_absent(rows, words, attempt_columns) == []


async def test_a_due_reminder_reaches_the_browser_encrypted_and_signed(
    app: Litestar, dispatcher: Dispatcher, patient: Api, receiver: PushReceiver
) -> None:
    """The whole path through the API: the daily nudge the patient asked for, planned and pushed."""
    browser = await subscribe(patient, receiver)
    zone = ZoneInfo("Europe/Madrid")  # the test patient's time zone (tests/conftest.py)
    at = (dt.datetime.now(zone) + dt.timedelta(hours=2)).strftime("%H:%M")
    saved = await patient.put("/api/v1/reminders/preferences", json={"daily_log_at": at})
    assert saved.status_code == 200, saved.text
    assert saved.json()["daily_log_at"] == at
    upcoming = [r for r in (await patient.get("/api/v1/reminders")).json()["upcoming"] if r["kind"] == "daily_log"]
    assert len(upcoming) == 2, upcoming  # today's and tomorrow's, within the 48-hour horizon
    planned = min(upcoming, key=lambda r: r["due_at"])
    due = dt.datetime.fromisoformat(planned["due_at"])
    assert due.astimezone(zone).strftime("%H:%M") == at

    before = time.time()
    assert await dispatcher.run_once(due - dt.timedelta(seconds=1)) >= 0
    assert receiver.at(browser.endpoint) == [], "nothing is pushed before it is due"
    await dispatcher.run_once(due + dt.timedelta(seconds=1))

    pushes = receiver.at(browser.endpoint)
    assert len(pushes) == 1
    push = pushes[0]
    assert push.headers["content-encoding"] == "aes128gcm"
    assert int(push.headers["ttl"]) > 0
    assert b"How was today" not in push.body and b"diary" not in push.body, "the payload travels encrypted"
    payload = browser.decrypt(push.body)
    assert payload["title"] == planned["title"] == "Your diary for today"
    assert payload["body"] == planned["body"] == "How was today? Log any spasms, or say there were none."
    assert same_origin(payload["url"]), payload["url"]
    assert payload["url"] == planned["link"] == "/check-in"
    assert payload["tag"].startswith("daily:")

    # VAPID (RFC 8292): "vapid t=<JWT>, k=<the server's public key>", the JWT signed with that key.
    parts = vapid_parts(push.headers["authorization"])
    server_key = (await patient.get("/api/v1/push/key")).json()["public_key"]
    assert parts["k"] == server_key
    claims = verify_es256_jwt(parts["t"], server_key)
    assert claims["aud"] == receiver.origin == f"http://127.0.0.1:{receiver.port}"
    assert before < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"] == app.state.settings.vapid_subject

    row = await reminder(app.state.sessionmaker, patient_id(patient), uuid.UUID(planned["id"]))
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    attempts = await attempts_of(app.state.sessionmaker, patient_id(patient))
    assert [(a.reminder_id, a.channel, a.outcome) for a in attempts] == [(row.id, "push", "delivered")]
    assert attempts[0].dispatcher == dispatcher.name
    await assert_words_not_logged(app, patient, [planned["title"], planned["body"], "How was today"])


async def test_a_follow_up_scheduled_by_a_clinician_is_pushed_the_day_before(
    app: Litestar, dispatcher: Dispatcher, patient: Api, clinician: Api, receiver: PushReceiver
) -> None:
    browser = await subscribe(patient, receiver)
    invitation = await patient.post("/api/v1/care-links/invitations", json={"scopes": ["view", "notify"]})
    code = invitation.json()["code"]
    assert (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).status_code == 201
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)).replace(second=0, microsecond=0)
    made = await clinician.post(
        f"/api/v1/patients/{patient_id(patient)}/appointments",
        json={"starts_at": starts.isoformat(), "place": "Room 4"},
    )
    assert made.status_code == 201, made.text

    await dispatcher.run_once(starts - dt.timedelta(days=1) + dt.timedelta(seconds=1))
    payloads = [browser.decrypt(p.body) for p in receiver.at(browser.endpoint)]
    assert not [p for p in payloads if p["tag"].endswith(":two-hours")], "the two-hour reminder is not due yet"
    [payload] = [p for p in payloads if p["tag"].endswith(":day-before")]
    local = starts.astimezone(ZoneInfo("Europe/Madrid")).strftime("%H:%M")
    assert payload["title"] == "Follow-up tomorrow"
    assert payload["body"] == f"Your follow-up appointment is tomorrow at {local}."
    assert payload["url"] == "/reminders" and same_origin(payload["url"])
    await assert_words_not_logged(app, patient, [payload["title"], payload["body"], "Room 4"])


@pytest.mark.parametrize("status", [410, 404])
async def test_a_subscription_the_push_service_forgot_is_removed(
    app: Litestar, deliverer: Dispatcher, patient: Api, receiver: PushReceiver, status: int
) -> None:
    maker = app.state.sessionmaker
    forgotten = await subscribe(patient, receiver)
    receiver.answers[forgotten.endpoint.removeprefix(receiver.origin)] = status
    assert len(await subscriptions_of(maker, patient_id(patient))) == 1
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now - dt.timedelta(seconds=1))

    await deliverer.run_once(now)
    assert len(receiver.at(forgotten.endpoint)) == 1
    assert await subscriptions_of(maker, patient_id(patient)) == []
    attempts = await attempts_of(maker, patient_id(patient))
    assert [(a.reminder_id, a.channel, a.outcome) for a in attempts] == [(queued.id, "push", "gone")]
    assert attempts[0].detail == f"status {status}"
    # The inbox still has it, and the forgotten endpoint is never tried again.
    row = await reminder(maker, patient_id(patient), queued.id)
    assert row.status == "sent"
    inbox = (await patient.get("/api/v1/reminders")).json()
    assert [r["id"] for r in inbox["due"]] == [str(queued.id)]
    [second] = await queue_reminders(maker, patient_id(patient), now)
    await deliverer.run_once(now + dt.timedelta(seconds=1))
    assert len(receiver.at(forgotten.endpoint)) == 1
    assert (await reminder(maker, patient_id(patient), second.id)).status == "sent"
    await assert_words_not_logged(app, patient, [queued.title, queued.body, second.title, second.body])


async def test_one_gone_browser_does_not_stop_the_others(
    app: Litestar, deliverer: Dispatcher, patient: Api, receiver: PushReceiver
) -> None:
    maker = app.state.sessionmaker
    gone, alive = await subscribe(patient, receiver), await subscribe(patient, receiver)
    receiver.answers[gone.endpoint.removeprefix(receiver.origin)] = 410
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now)
    await deliverer.run_once(now)
    assert [s.endpoint for s in await subscriptions_of(maker, patient_id(patient))] == [alive.endpoint]
    assert alive.decrypt(receiver.at(alive.endpoint)[0].body)["title"] == queued.title
    outcomes = sorted(a.outcome for a in await attempts_of(maker, patient_id(patient)))
    assert outcomes == ["delivered", "gone"]
    assert (await reminder(maker, patient_id(patient), queued.id)).status == "sent"


async def test_a_gone_browser_does_not_stop_the_retry_for_one_that_failed(
    app: Litestar, deliverer: Dispatcher, patient: Api, receiver: PushReceiver
) -> None:
    """Two browsers: one uninstalled (410), one whose push service hiccups (500). Nothing got through, so the
    reminder must be tried again for the second browser (the dispatcher's own rule: "push and e-mail are retried
    only while none of them got through")."""
    maker = app.state.sessionmaker
    gone, flaky = await subscribe(patient, receiver), await subscribe(patient, receiver)
    receiver.answers[gone.endpoint.removeprefix(receiver.origin)] = 410
    receiver.answers[flaky.endpoint.removeprefix(receiver.origin)] = 500
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now)
    await deliverer.run_once(now)
    assert [s.endpoint for s in await subscriptions_of(maker, patient_id(patient))] == [flaky.endpoint]
    assert sorted(a.outcome for a in await attempts_of(maker, patient_id(patient))) == ["failed", "gone"]
    row = await reminder(maker, patient_id(patient), queued.id)
    assert (row.status, row.next_attempt_at > now) == ("pending", True), (
        f"status {row.status!r}: a 410 from one browser was counted as a delivery, so the browser that failed with "
        "500 never gets this reminder"
    )
    receiver.answers.pop(flaky.endpoint.removeprefix(receiver.origin))
    await deliverer.run_once(row.next_attempt_at)
    assert [p.status for p in receiver.at(flaky.endpoint)] == [500, 201]
    assert flaky.decrypt(receiver.at(flaky.endpoint)[-1].body)["title"] == queued.title
    assert (await reminder(maker, patient_id(patient), queued.id)).status == "sent"


async def test_a_failing_push_service_is_tried_again_later_with_backoff(
    app: Litestar, deliverer: Dispatcher, patient: Api, receiver: PushReceiver
) -> None:
    maker = app.state.sessionmaker
    browser = await subscribe(patient, receiver)
    path = browser.endpoint.removeprefix(receiver.origin)
    receiver.answers[path] = 500
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now - dt.timedelta(seconds=1))

    await deliverer.run_once(now)
    assert len(receiver.at(browser.endpoint)) == 1, "a failure is not retried within the same round"
    first = await reminder(maker, patient_id(patient), queued.id)
    assert first.status == "pending" and first.attempts == 1 and first.sent_at is None
    assert first.next_attempt_at > now
    first_wait = first.next_attempt_at - now
    attempts = await attempts_of(maker, patient_id(patient))
    assert [(a.channel, a.outcome, a.detail) for a in attempts] == [("push", "failed", "status 500")]

    # Not before its time ...
    await deliverer.run_once(first.next_attempt_at - dt.timedelta(seconds=1))
    assert len(receiver.at(browser.endpoint)) == 1
    # ... then again, failing again: the wait grows.
    await deliverer.run_once(first.next_attempt_at)
    assert len(receiver.at(browser.endpoint)) == 2
    second = await reminder(maker, patient_id(patient), queued.id)
    assert second.status == "pending" and second.attempts == 2
    assert second.next_attempt_at - first.next_attempt_at > first_wait

    # The push service is back: the next round after that time delivers it, once.
    receiver.answers.pop(path)
    await deliverer.run_once(second.next_attempt_at + dt.timedelta(seconds=1))
    pushes = receiver.at(browser.endpoint)
    assert [p.status for p in pushes] == [500, 500, 201]
    assert browser.decrypt(pushes[-1].body)["title"] == queued.title
    done = await reminder(maker, patient_id(patient), queued.id)
    assert done.status == "sent" and done.attempts == 3 and done.sent_at is not None
    outcomes = [a.outcome for a in await attempts_of(maker, patient_id(patient))]
    assert outcomes == ["failed", "failed", "delivered"]
    await deliverer.run_once(done.next_attempt_at + dt.timedelta(minutes=30))
    assert len(receiver.at(browser.endpoint)) == 3
    await assert_words_not_logged(app, patient, [queued.title, queued.body])


async def test_a_push_service_that_never_recovers_is_given_up_on(
    app: Litestar, deliverer: Dispatcher, patient: Api, receiver: PushReceiver
) -> None:
    maker = app.state.sessionmaker
    browser = await subscribe(patient, receiver)
    receiver.answers[browser.endpoint.removeprefix(receiver.origin)] = 503
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now)
    moment = now
    for _ in range(services.MAX_ATTEMPTS):
        await deliverer.run_once(moment)
        row = await reminder(maker, patient_id(patient), queued.id)
        moment = row.next_attempt_at
    assert row.status == "failed" and row.attempts == services.MAX_ATTEMPTS
    assert len(receiver.at(browser.endpoint)) == services.MAX_ATTEMPTS
    await deliverer.run_once(moment + dt.timedelta(hours=1))
    assert len(receiver.at(browser.endpoint)) == services.MAX_ATTEMPTS
    attempts = await attempts_of(maker, patient_id(patient))
    assert [a.outcome for a in attempts] == ["failed"] * services.MAX_ATTEMPTS
    await assert_words_not_logged(app, patient, [queued.title, queued.body])


async def test_an_unreachable_push_service_is_a_failure_to_retry(
    app: Litestar, deliverer: Dispatcher, patient: Api
) -> None:
    """Nothing listens at the endpoint (a network error, no HTTP status): retried later, not dropped."""
    maker = app.state.sessionmaker
    with PushReceiver() as closed:
        endpoint = closed.endpoint()
    browser = Browser(endpoint)
    assert (await patient.post("/api/v1/push/subscriptions", json=browser.subscription())).status_code == 201
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now)
    await deliverer.run_once(now)
    row = await reminder(maker, patient_id(patient), queued.id)
    assert row.status == "pending" and row.next_attempt_at > now
    assert len(await subscriptions_of(maker, patient_id(patient))) == 1
    [attempt] = await attempts_of(maker, patient_id(patient))
    assert attempt.outcome == "failed" and attempt.channel == "push"
    await assert_words_not_logged(app, patient, [queued.title, queued.body])


async def test_a_reminder_without_any_channel_still_lands_in_the_inbox(
    app: Litestar, deliverer: Dispatcher, patient: Api
) -> None:
    maker = app.state.sessionmaker
    now = dt.datetime.now(dt.UTC)
    [queued] = await queue_reminders(maker, patient_id(patient), now)
    await deliverer.run_once(now)
    assert (await reminder(maker, patient_id(patient), queued.id)).status == "sent"
    attempts = await attempts_of(maker, patient_id(patient))
    assert [(a.channel, a.outcome) for a in attempts] == [("inbox", "delivered")]
    inbox: dict[str, Any] = (await patient.get("/api/v1/reminders")).json()
    assert [(r["id"], r["title"], r["body"]) for r in inbox["due"]] == [(str(queued.id), queued.title, queued.body)]
    await assert_words_not_logged(app, patient, [queued.title, queued.body])


def test_helpers_reject_a_forged_vapid_signature() -> None:
    """The JWT check itself must be able to fail: a token signed by another key is refused."""
    from py_vapid import Vapid02

    signer, other = Vapid02(), Vapid02()
    signer.generate_keys()
    other.generate_keys()
    header = signer.sign({"aud": "http://127.0.0.1:1", "exp": int(time.time()) + 60, "sub": "mailto:a@example.org"})
    parts = vapid_parts(header["Authorization"])
    assert verify_es256_jwt(parts["t"], parts["k"])["aud"] == "http://127.0.0.1:1"
    from cryptography.hazmat.primitives import serialization

    from tests.reminders.support import b64url

    wrong = b64url(
        other.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    with pytest.raises(AssertionError):
        verify_es256_jwt(parts["t"], wrong)
