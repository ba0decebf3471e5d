"""The diary and trends pages (backend/diary/history_pages.py)."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import Api
from tests.support.pages import (
    UUID,
    local_noon,
    page,
    put_episode,
    today,
)

# ---- diary and trends ------------------------------------------------------------------------------------------------


def day_sections(text: str) -> dict[str, str]:
    """Each day section of the diary page: its date id and its content."""
    return dict(re.findall(r'<section class="day" aria-labelledby="d-(\d{4}-\d{2}-\d{2})">(.*?)</section>', text, re.S))


async def test_history_groups_episodes_by_day_with_links(patient: Api) -> None:
    now = today()
    one, three, old = now - dt.timedelta(days=1), now - dt.timedelta(days=3), now - dt.timedelta(days=20)
    first = await put_episode(patient, local_noon(one) - dt.timedelta(hours=3), intensity=3)
    second = await put_episode(patient, local_noon(one) + dt.timedelta(hours=6), intensity=8, kind="cramp")
    third = await put_episode(patient, local_noon(three), body_sites=[{"site": "neck", "side": "middle"}])
    far = await put_episode(patient, local_noon(old))
    await patient.put(f"/api/v1/checkins/{three.isoformat()}", json={"no_episodes": False, "stiffness": 4})

    response = await page(patient, "/history")
    assert response.status_code == 200
    sections = day_sections(response.text)
    # Every day, newest first, empty days too: today first; a day without a check-in offers to fill it in.
    assert list(sections) == [(now - dt.timedelta(days=n)).isoformat() for n in range(14)]
    assert f'<h2 id="d-{now.isoformat()}">Today</h2>' in response.text
    assert f'<h2 id="d-{one.isoformat()}">Yesterday</h2>' in response.text
    assert f'<h2 id="d-{three.isoformat()}">{three.strftime("%A")} {three.day} {three.strftime("%b")}' in response.text
    assert f'href="/check-in/{one.isoformat()}">No check-in: fill it in' in sections[one.isoformat()]
    assert "No check-in" not in sections[three.isoformat()]
    assert "No episodes logged." in sections[now.isoformat()]
    links_one = re.findall(rf'href="/episodes/({UUID})"', sections[one.isoformat()])
    assert links_one == [second["id"], first["id"]]
    assert re.findall(rf'href="/episodes/({UUID})"', sections[three.isoformat()]) == [third["id"]]
    assert "8/10" in sections[one.isoformat()] and "Cramp" in sections[one.isoformat()]
    assert "stiffness 4/10" in sections[three.isoformat()]
    assert far["id"] not in response.text

    earlier = re.search(r'href="/history\?before=(\d{4}-\d{2}-\d{2})"', response.text)
    assert earlier is not None
    older = await page(patient, f"/history?before={earlier.group(1)}")
    assert old.isoformat() in day_sections(older.text) and len(day_sections(older.text)) == 14
    assert re.findall(rf'href="/episodes/({UUID})"', older.text) == [far["id"]]


async def test_an_empty_diary_has_calm_pages(patient: Api) -> None:
    history = await page(patient, "/history")
    assert "Nothing logged in this period." in history.text
    trends = await page(patient, "/trends")  # what a new user sees there: tests/diary/test_trends_pages.py
    assert "No triggers noted yet." in trends.text
    home = await page(patient, "/")
    assert home.status_code == 200
