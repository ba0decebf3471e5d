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


def bar_values(svg: str) -> dict[str, int]:
    return {label: int(value) for label, value in re.findall(r"<rect [^>]*><title>([^<:]+): (\d+)</title></rect>", svg)}


async def test_trends_count_the_diary_for_each_period(patient: Api) -> None:
    now = today()
    made = [
        (1, ["fatigue", "stress"], [{"kind": "stretching", "relief": 6}]),
        (1, ["fatigue"], [{"kind": "stretching", "relief": 2}, {"kind": "heat"}]),
        (5, ["heat"], []),
        (20, ["fatigue"], [{"kind": "rest", "relief": 9}]),
        (60, [], []),
        (120, ["stress"], []),
    ]
    for days_ago, triggers, treatments in made:
        await put_episode(
            patient, local_noon(now - dt.timedelta(days=days_ago)), triggers=triggers, treatments=treatments
        )
    await patient.put(
        f"/api/v1/checkins/{(now - dt.timedelta(days=2)).isoformat()}", json={"no_episodes": True, "stiffness": 7}
    )

    for period in (14, 30, 90):
        response = await page(patient, f"/trends?days={period}")
        assert response.status_code == 200
        assert re.search(rf'href="/trends\?days={period}" aria-current="page"', response.text)
        charts = re.findall(r"<svg\b.*?</svg>", response.text, re.S)
        assert len(charts) == 2
        counts, stiffness = bar_values(charts[0]), bar_values(charts[1])
        assert len(counts) == period and len(stiffness) == period
        inside = [(d, t, tr) for d, t, tr in made if d < period]
        assert sum(counts.values()) == len(inside)
        for days_ago in {d for d, _, _ in inside}:
            label = (now - dt.timedelta(days=days_ago)).strftime("%d/%m")
            assert counts[label] == sum(1 for d, _, _ in inside if d == days_ago), (period, label)
        assert stiffness[(now - dt.timedelta(days=2)).strftime("%d/%m")] == 7
        assert sum(stiffness.values()) == 7
        assert f"{len(inside) * 7 / period:.1f} a week on average" in response.text

        trigger_rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", response.text))
        expected: dict[str, int] = {}
        for _, triggers, _ in inside:
            for t in triggers:
                expected[t] = expected.get(t, 0) + 1
        labels = {"fatigue": "Tiredness", "stress": "Stress or worry", "heat": "Being hot"}
        assert trigger_rows == {labels[k]: str(v) for k, v in expected.items()}, (period, trigger_rows)

        helped = {
            label: (times, relief)
            for label, times, relief in re.findall(
                r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]+)</td></tr>", response.text
            )
        }
        assert helped["Stretching"] == ("2", "4.0")
        assert helped["Heat"] == ("1", "–")
        assert ("Rest" in helped) == (period > 20)

    fallback = await page(patient, "/trends?days=7")
    assert len(bar_values(re.findall(r"<svg\b.*?</svg>", fallback.text, re.S)[0])) == 30


async def test_an_empty_diary_has_calm_pages(patient: Api) -> None:
    history = await page(patient, "/history")
    assert "Nothing logged in this period." in history.text
    trends = await page(patient, "/trends")
    assert "0.0 a week on average" in trends.text
    assert "No triggers noted yet." in trends.text
    home = await page(patient, "/")
    assert home.status_code == 200
