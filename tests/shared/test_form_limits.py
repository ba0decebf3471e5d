"""Every form on every page is held to the API's limits (shared/forms.py decodes it into the API's own Struct).

The forms are not listed by hand: each page a patient, a clinician or a stranger can open is read, and every form on
it that posts is sent back with its fields filled as a person would, then with one field at a time replaced by an
over-long or malformed value. None of these may answer 500, a refusal must be a page that says what is wrong (not
problem JSON), free text must never be cut short and kept, and nothing stored anywhere may be longer than the API's
longest text (2,000 characters) or hold a NUL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from sqlalchemy import String, Text, select

from backend.db import Base
from backend.diary.models import PennRating
from tests.conftest import Api
from tests.support.pages import page, submit

LONGEST_TEXT = 2000  # the API's longest free text (a note, an appointment's note)
BAD_VALUES = [
    "x" * 150_000,  # the API's limits are at most 2,000 characters
    "bad\x00value",  # PostgreSQL refuses NUL in text
    " 5 ",
    "٤",  # an Arabic-Indic digit four
    "５",  # a full-width digit five
    "+5",
    "1e3",
    "-1",
    "5.5",
    "NaN",
    "\u202eevil",  # a right-to-left override
    "",
]
# How a person fills the fields a page leaves empty.
GOOD = {
    "email": "someone@example.org",
    "password": "a perfectly fine pass-phrase",
    "new_password": "another fine pass-phrase",
    "current_password": "a perfectly fine pass-phrase",
    "display_name": "Ana",
    "time_zone": "Europe/Madrid",
    "place": "Room 4",
    "note": "Felt it after the walk.",
    "duration_minutes": "5",
    "code": "ABCD-EFGH",
    "confirm": "no",
}
LEAVE_OUT = {"/sign-out"}  # ends the session that the rest of the sweep needs


class Forms(HTMLParser):
    """The forms of a page that post, with their fields as the page sets them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.current = {"action": a.get("action", ""), "fields": {}, "first": {}, "free_text": set()}
            self.forms.append(self.current)
        if self.current is None:
            return
        fields, first = self.current["fields"], self.current["first"]
        if tag == "option" and self.select:
            first.setdefault(self.select, a.get("value", ""))
            if "selected" in a:
                fields[self.select] = a.get("value", "")
            return
        name = a.get("name")
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                first.setdefault(name, a.get("value", "on"))
                fields.setdefault(name, None)
                if "checked" in a:
                    fields[name] = a.get("value", "on")
            elif kind not in {"submit", "button"}:
                fields[name] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            fields[name] = ""
            self.current["free_text"].add(name)
        elif tag == "select":
            fields[name] = None
            self.select = name
        elif tag == "button" and a.get("value"):
            fields.setdefault(name, a["value"])

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current["fields"][self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form":
            self.current = None


def forms_of(html: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["action"] and f["action"] not in LEAVE_OUT]


def filled(form: dict[str, Any]) -> dict[str, Any]:
    """The form as a person fills it: what the page set, else a sensible answer (the first choice of a list)."""
    values = {
        k: (GOOD.get(k, form["first"].get(k, "")) if v in (None, "") else v)
        for k, v in form["fields"].items()
        if k != "_csrf"
    }
    if "starts_at" in values and not values["starts_at"]:
        values["starts_at"] = (dt.datetime.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT10:30")
    return values


async def sweep(api: Api, urls: list[str]) -> int:
    """Posts every form of the pages, once as filled and once per field and bad value; returns how many posts."""
    posts = 0
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for url in urls:
        shown = await page(api, url)
        assert shown.status_code == 200, (url, shown.status_code)
        for form in forms_of(shown.text):
            key = (form["action"], tuple(sorted(form["fields"])))
            if key in seen:
                continue
            seen.add(key)
            good = filled(form)
            for name in [None, *good]:
                for bad in BAD_VALUES if name else [None]:
                    data = good if name is None else {**good, name: bad}
                    if "version" in good and name != "version":  # on top of what is stored now, as a person would
                        data = {**data, "version": await current_version(api, url, form["action"])}
                    answer = await submit(api, form["action"], data)
                    posts += 1
                    where = (url, form["action"], name, (bad or "")[:20])
                    assert answer.status_code < 500, (where, answer.text[:500])
                    if answer.status_code >= 400:
                        assert answer.headers["content-type"].startswith("text/html"), where
                        assert "<h1" in answer.text, where
                    if name in form["free_text"] and bad and len(bad) > LONGEST_TEXT:
                        assert answer.status_code in (400, 422), where  # refused, never cut and kept
                        assert 'role="alert"' in answer.text, where
                    await api.refresh_csrf()
    return posts


async def current_version(api: Api, url: str, action: str) -> str:
    shown = await page(api, url)
    form = next(f for f in forms_of(shown.text) if f["action"] == action)
    return str(form["fields"].get("version") or "")


async def longest_texts(app: Litestar) -> list[tuple[str, int]]:
    """Every stored text column's longest value, and any value holding a NUL."""
    found = []
    async with app.state.sessionmaker() as db:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text):
                    values = (await db.execute(select(column).where(column.is_not(None)))).scalars().all()
                    longest = max((len(v) for v in values), default=0)
                    if longest > LONGEST_TEXT or any("\x00" in v for v in values):
                        found.append((f"{table.name}.{column.name}", longest))
    return found


async def link(patient: Api, clinician: Api) -> None:
    scopes = ["view", "annotate", "notify", "export"]
    code = (await patient.post("/api/v1/care-links/invitations", json={"scopes": scopes})).json()["code"]
    linked = await clinician.post("/api/v1/care-links/redeem", json={"code": code})
    assert linked.status_code == 201, linked.text


async def test_every_form_of_every_page_holds_to_the_api_limits(app: Litestar, browser: Any) -> None:
    patient: Api = await browser()
    await patient.register("patient")
    clinician: Api = await browser()
    await clinician.register("clinician")
    await link(patient, clinician)
    episode_id = uuid.uuid4()
    started = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    body = {"kind": "spasm", "started_at": started, "intensity": 6, "body_sites": [{"site": "calf", "side": "left"}]}
    assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201
    warning = {**body, "symptoms": ["breathing_difficulty"]}  # a flag to act on, on the clinician's report
    assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=warning)).status_code == 201
    patient_id = patient.user["id"] if patient.user else ""
    stranger: Api = await browser()
    await stranger.refresh_csrf()

    posts = await sweep(stranger, ["/sign-in", "/register", "/forgot-password"])
    posts += await sweep(clinician, ["/", f"/patients/{patient_id}/report"])  # before the patient stops sharing
    posts += await sweep(
        patient,
        [
            "/",
            "/log",
            f"/episodes/{episode_id}",
            "/check-in",
            "/penn",
            "/reminders",
            "/sharing",
            "/account",
            "/plan/new",
        ],
    )
    assert posts > 300  # the sweep found the forms
    assert await longest_texts(app) == []


@pytest.mark.parametrize(
    "week", [" 2026-W49", "+2026-W49", "002026-W49", "2026-W٤٩", "2026-w49", "2026-W49 ", "2026W49"]
)
async def test_a_penn_week_is_one_key_however_the_address_writes_it(app: Litestar, patient: Api, week: str) -> None:
    """The page and the API take the week from the address; both hold it to the API's form, so a week is stored under
    one key (before, the page stored one week under seven spellings, and PostgreSQL answered most with 500)."""
    page_answer = await submit(patient, f"/penn/{quote(week)}", {"frequency": "1", "severity": "1"})
    assert page_answer.status_code in (400, 422), page_answer.text[:300]
    assert page_answer.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page_answer.text
    api_answer = await patient.put(f"/api/v1/penn/{quote(week)}", json={"frequency": 1, "severity": 1})
    assert api_answer.status_code in (400, 422), api_answer.text
    assert api_answer.headers["content-type"].startswith("application/problem+json")
    async with app.state.sessionmaker() as db:
        mine = PennRating.patient_id == uuid.UUID(patient.user["id"] if patient.user else "")
        assert (await db.execute(select(PennRating.week).where(mine))).scalars().all() == []


async def test_the_profile_form_checks_the_version_it_was_based_on(patient: Api) -> None:
    """Two tabs: the settings saved in one are not silently overwritten by the older form of the other (If-Match)."""
    first = await page(patient, "/account")
    second = await page(patient, "/account")
    forms = {f["action"]: f for f in forms_of(first.text)}
    assert "/account/settings" in forms
    values = filled(forms["/account/settings"])
    assert values.get("version"), "the settings form carries the version it shows"
    saved = await submit(patient, "/account/settings", {**values, "time_zone": "Europe/Lisbon"})
    assert saved.status_code == 200 and 'role="alert"' not in saved.text, saved.text[:300]
    stale = filled({f["action"]: f for f in forms_of(second.text)}["/account/settings"])
    refused = await submit(patient, "/account/settings", {**stale, "time_zone": "Europe/Paris"})
    assert refused.status_code == 409, refused.status_code
    assert 'role="alert"' in refused.text
    profile = (await patient.get("/api/v1/profile", headers={"accept": "application/json"})).json()
    assert profile["time_zone"] == "Europe/Lisbon"
