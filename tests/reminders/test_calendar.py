"""The private iCalendar feed (RFC 5545): follow-up appointments and treatment reviews, behind a revocable token."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from litestar import Litestar
from sqlalchemy import select

from backend.reminders.models import Reminder
from tests.conftest import Api
from tests.support.pages import page, submit

MADRID = ZoneInfo("Europe/Madrid")
BASE = "http://testserver.local"
HOUR = dt.timedelta(hours=1)


def pid(api: Api) -> uuid.UUID:
    assert api.user is not None
    return uuid.UUID(api.user["id"])


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


async def new_feed(patient: Api) -> str:
    """The feed's path (the URL without the base)."""
    made = await patient.post("/api/v1/calendar-feed")
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert re.fullmatch(rf"{re.escape(BASE)}/calendar/[A-Za-z0-9_-]{{40,}}\.ics", url), url
    return str(url.removeprefix(BASE))


async def fetch(browser: Any, path: str) -> Any:
    """What a calendar app sees: no cookie, no session, only the address."""
    outsider: Api = await browser()
    response = await outsider.client.get(path)
    assert "set-cookie" not in {k.lower() for k in response.headers}
    return response


async def calendar_of(browser: Any, path: str) -> Calendar:
    response = await fetch(browser, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["cache-control"] == "no-store"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0" and str(calendar["prodid"])
    return calendar


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


async def link(patient: Api, clinician: Api) -> None:
    code = (await patient.post("/api/v1/care-links/invitations", json={"scopes": ["view", "notify"]})).json()["code"]
    assert (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).status_code == 201


async def schedule(clinician: Api, patient: Api, starts: dt.datetime, **fields: Any) -> dict[str, Any]:
    made = await clinician.post(
        f"/api/v1/patients/{pid(patient)}/appointments", json={"starts_at": starts.isoformat(), **fields}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def start_treatment(app: Litestar, patient: Api, days_ago: int, kind: str = "antispasmodic") -> str:
    regimen_id = str(uuid.uuid4())
    today = dt.datetime.now(MADRID).date()
    written = await patient.put(
        f"/api/v1/regimens/{regimen_id}",
        json={"kind": kind, "name": "Tizanidine", "start_date": (today - dt.timedelta(days=days_ago)).isoformat()},
    )
    assert written.status_code == 201, written.text
    await app.state.evaluator.drain()
    return regimen_id


async def review_rows(app: Litestar, patient: Api) -> list[Reminder]:
    async with app.state.sessionmaker() as db:
        rows = (
            await db.execute(
                select(Reminder).where(Reminder.patient_id == pid(patient), Reminder.kind == "treatment_review")
            )
        ).scalars()
        return list(rows)


async def test_the_feed_has_every_follow_up_and_treatment_review(
    app: Litestar, browser: Any, patient: Api, clinician: Api
) -> None:
    await link(patient, clinician)
    soon = minute(dt.datetime.now(dt.UTC) + 30 * HOUR)
    later = minute(dt.datetime.now(dt.UTC) + dt.timedelta(days=40))
    first = await schedule(clinician, patient, soon, minutes=45, place="Room 4, Hospital Clínic")
    second = await schedule(clinician, patient, later)
    gone = await schedule(clinician, patient, minute(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)))
    assert (await clinician.delete(f"/api/v1/patients/{pid(patient)}/appointments/{gone['id']}")).status_code == 204
    regimen_id = await start_treatment(app, patient, days_ago=28)  # day 28 is today: its review is planned
    await start_treatment(app, patient, days_ago=28, kind="heat")  # no review for heat
    path = await new_feed(patient)

    found = events(await calendar_of(browser, path))
    one = found[f"appointment-{first['id']}@spasm-diary"]
    assert one["dtstart"].dt == soon and one["dtstart"].dt.tzinfo is not None
    assert one["dtend"].dt == soon + dt.timedelta(minutes=45)
    assert str(one["summary"]) == "Follow-up appointment"
    assert str(one["location"]) == "Room 4, Hospital Clínic"
    assert str(one["status"]) == "CONFIRMED"
    two = found[f"appointment-{second['id']}@spasm-diary"]
    assert two["dtstart"].dt == later and two["dtend"].dt == later + dt.timedelta(minutes=30)
    assert "location" not in two
    cancelled = found[f"appointment-{gone['id']}@spasm-diary"]
    assert str(cancelled["status"]) == "CANCELLED"

    reviews = await review_rows(app, patient)
    assert [r.subject_id for r in reviews] == [regimen_id]
    review = found[f"review-{reviews[0].id}@spasm-diary"]
    due = reviews[0].due_at.replace(microsecond=0)  # RFC 5545 times have whole seconds
    assert review["dtstart"].dt == due
    assert review["dtend"].dt == due + dt.timedelta(minutes=15)
    assert str(review["summary"]) == "Time to review a treatment"
    assert "Tizanidine" in str(review["description"])
    assert len(found) == 4, sorted(found)


async def test_a_review_of_a_deleted_treatment_leaves_the_feed(app: Litestar, browser: Any, patient: Api) -> None:
    regimen_id = await start_treatment(app, patient, days_ago=27)  # day 28 is tomorrow, 10:00
    path = await new_feed(patient)
    reviews = await review_rows(app, patient)
    assert len(reviews) == 1
    tomorrow = dt.datetime.now(MADRID).date() + dt.timedelta(days=1)
    assert reviews[0].due_at == dt.datetime.combine(tomorrow, dt.time(10, 0), MADRID)
    assert [e for e in events(await calendar_of(browser, path)) if e.startswith("review-")]
    assert (await patient.delete(f"/api/v1/regimens/{regimen_id}", headers={"if-match": '"1"'})).status_code in (
        200,
        204,
    )
    await app.state.evaluator.drain()
    assert [e for e in events(await calendar_of(browser, path)) if e.startswith("review-")] == []


async def test_a_new_address_ends_the_old_one_and_ending_it_ends_it(browser: Any, patient: Api) -> None:
    old = await new_feed(patient)
    assert (await fetch(browser, old)).status_code == 200
    new = await new_feed(patient)
    assert new != old
    assert (await fetch(browser, old)).status_code == 404
    assert (await fetch(browser, new)).status_code == 200
    ended = await patient.delete("/api/v1/calendar-feed")
    assert ended.status_code == 204
    assert (await fetch(browser, new)).status_code == 404
    assert (await patient.delete("/api/v1/calendar-feed")).status_code == 204  # again: nothing to end


async def test_made_up_addresses_find_nothing(browser: Any, patient: Api) -> None:
    path = await new_feed(patient)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    for guess in (
        f"/calendar/{secrets.token_urlsafe(32)}.ics",
        f"/calendar/{token}",
        f"/calendar/{token}.ics.ics",
        f"/calendar/{token.upper()}.ics",
        f"/calendar/{'a' * 200}.ics",
        "/calendar/.ics",
    ):
        response = await fetch(browser, guess)
        assert response.status_code == 404, guess
        assert "BEGIN:VCALENDAR" not in response.text


async def test_each_feed_shows_only_its_own_patient(
    app: Litestar, browser: Any, patient: Api, other_patient: Api, clinician: Api
) -> None:
    await link(patient, clinician)
    made = await schedule(clinician, patient, minute(dt.datetime.now(dt.UTC) + 30 * HOUR), place="Room 4")
    mine, theirs = await new_feed(patient), await new_feed(other_patient)
    assert f"appointment-{made['id']}@spasm-diary" in events(await calendar_of(browser, mine))
    assert events(await calendar_of(browser, theirs)) == {}


async def test_only_a_patient_makes_a_feed(browser: Any, clinician: Api) -> None:
    stranger: Api = await browser()
    await stranger.refresh_csrf()
    assert (await stranger.post("/api/v1/calendar-feed")).status_code == 401
    assert (await clinician.post("/api/v1/calendar-feed")).status_code == 403


async def test_the_reminders_page_makes_and_ends_the_address(browser: Any, patient: Api) -> None:
    made = await submit(patient, "/reminders/calendar", {"action": "new"})
    assert made.status_code == 200, made.text
    match = re.search(r'<input id="feed" readonly value="([^"]+)"', made.text)
    assert match is not None
    path = match.group(1).removeprefix(BASE)
    assert (await fetch(browser, path)).status_code == 200
    ended = await submit(patient, "/reminders/calendar", {"action": "end"})
    assert ended.status_code == 200 and "no longer works" in ended.text
    assert (await fetch(browser, path)).status_code == 404
    assert 'id="feed"' not in (await page(patient, "/reminders")).text
