"""Shared helpers for the browser-page tests: form posts as a browser sends them, headings, and the Spanish catalog."""

from __future__ import annotations

import datetime as dt
import functools
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
