"""Shared helpers for the browser-page tests: form posts as a browser sends them, headings, and the Spanish catalog."""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.messages.pofile import read_po

from tests.conftest import Api

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
JSON = {"accept": "application/json"}
REPO = Path(__file__).resolve().parents[2]
PO_FILE = REPO / "pwa" / "locale" / "es" / "LC_MESSAGES" / "messages.po"
MADRID = ZoneInfo("Europe/Madrid")  # the time zone Api.register gives every test person


async def submit(
    api: Api, url: str, data: dict[str, Any], *, csrf: str | None = None, **headers: str
) -> httpx.Response:
    """A plain HTML form post, as a browser without script sends it: URL-encoded, the token in the _csrf field."""
    fields = {"_csrf": api.csrf if csrf is None else csrf, **data}
    return await api.client.post(url, data=fields, headers={**HTML, **headers}, follow_redirects=False)


async def page(api: Api, url: str, **headers: str) -> httpx.Response:
    return await api.client.get(url, headers={**HTML, **headers}, follow_redirects=False)


async def save_settings(api: Api, data: dict[str, Any]) -> httpx.Response:
    """The settings form as a browser posts it: on top of the version the account page showed."""
    shown = await page(api, "/account")
    return await submit(
        api, "/account/settings", {"version": hidden(shown.text, "version", "/account/settings"), **data}
    )


def headings(text: str, level: int = 1) -> list[str]:
    found = re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", text, re.S)
    return [re.sub(r"<[^>]+>", "", h).strip() for h in found]


def html_lang(text: str) -> str | None:
    match = re.search(r'<html\b[^>]*\blang="([^"]*)"', text)
    return match.group(1) if match else None


def hidden(text: str, name: str, form_action: str | None = None) -> str:
    """The value of a hidden input, optionally inside the form posting to form_action."""
    if form_action is not None:
        form = re.search(rf'<form[^>]*action="{re.escape(form_action)}"[^>]*>(.*?)</form>', text, re.S)
        assert form is not None, f"no form posting to {form_action}"
        text = form.group(1)
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', text)
    assert match is not None, f"no hidden {name}"
    return match.group(1)


@functools.cache
def spanish_catalog() -> dict[Any, Any]:
    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    return {message.id: message.string for message in catalog if message.id}


def spanish(msgid: str) -> str:
    """The Spanish of an English text, read from the catalog file itself."""
    text = spanish_catalog().get(msgid)
    assert text, f"no Spanish translation of {msgid!r}"
    assert text != msgid
    return str(text)


def local_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), MADRID)


def today() -> dt.date:
    return dt.datetime.now(MADRID).date()


async def put_episode(api: Api, started_at: dt.datetime, **fields: Any) -> dict[str, Any]:
    episode_id = uuid.uuid4()
    body = {
        "kind": "spasm",
        "started_at": started_at.isoformat(),
        "intensity": 5,
        "body_sites": [{"site": "calf", "side": "left"}],
        **fields,
    }
    response = await api.put(f"/api/v1/episodes/{episode_id}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def episodes(api: Api) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/episodes", params={"limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def patient_pages(episode_id: str) -> dict[str, str]:
    """Every page a patient can open, with the heading it must show."""
    yesterday = today() - dt.timedelta(days=1)
    return {
        "/log": "Log a spasm",
        f"/episodes/{episode_id}": "Episode details",
        "/check-in": "Daily check-in",
        f"/check-in/{yesterday.isoformat()}": "Daily check-in",
        "/penn": "Weekly spasm rating",
        "/history": "My diary",
        "/trends": "My trends",
        "/more": "More",
        "/plan": "My treatment plan",
        "/plan/new": "Add a medicine or treatment",
        "/sharing": "Share with my care team",
        "/sharing/history": "Who looked at my diary",
        "/account": "My data and settings",
    }


def patient_forms(episode_id: str) -> list[str]:
    return [
        "/log",
        f"/episodes/{episode_id}",
        f"/episodes/{episode_id}/delete",
        f"/check-in/{today().isoformat()}",
        f"/penn/{iso_week(today())}",
        f"/plan/{uuid.uuid4()}",
        "/sharing/code",
        "/sharing/accept",
        f"/sharing/{uuid.uuid4()}/revoke",
        "/account/settings",
        "/account/erase",
    ]


def alert_items(text: str) -> list[str]:
    box = re.search(r'<div class="error" role="alert"[^>]*>(.*?)</div>', text, re.S)
    assert box is not None, text
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li>(.*?)</li>", box.group(1))]


def urgent_notices(text: str) -> list[str]:
    """The urgent safety notices of a page; each must be announced at once (role="alert")."""
    found = re.findall(r'<li class="flag urgent"[^>]*>(.*?)</li>', text, re.S)
    items = re.findall(r'<li class="flag urgent"[^>]*>.*?</li>', text, re.S)
    assert all('role="alert"' in item for item in items), items
    return found


def checked_values(text: str, name: str) -> set[str]:
    inputs = re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', text)
    return {re.search(r'value="([^"]*)"', i).group(1) for i in inputs if re.search(r"\bchecked\b", i)}  # type: ignore[union-attr]
