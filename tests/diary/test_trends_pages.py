"""The trends page (backend/diary/trends_pages.py, charts from backend/shared/charts.py): a value axis with numbers,
days without an entry as gaps (never 0), stiffness and strength on a fixed 0-10 scale, this period against the one
before in words, relief counted per treatment by the words the patient chose, and what a new user will see."""

from __future__ import annotations

import datetime as dt
import re

from backend.shared import formats
from backend.shared.charts import TREND_H, TREND_W, day_bars, day_line
from tests.conftest import Api
from tests.support.pages import local_noon, page, put_episode, today

MADE = [
    (1, ["fatigue", "stress"], [{"kind": "stretching", "relief": 6}], 8),
    (1, ["fatigue"], [{"kind": "stretching", "relief": 2}, {"kind": "heat"}], 4),
    (5, ["heat"], [], 5),
    (20, ["fatigue"], [{"kind": "rest", "relief": 9}], 9),
    (60, [], [], 3),
    (120, ["stress"], [], 3),
]


def charts(text: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", text, re.S)


def titled(svg: str, element: str) -> dict[str, str]:
    return dict(re.findall(rf"<{element} [^>]*><title>([^<:]+): ([^<]+)</title></{element}>", svg))


def label(days_ago: int) -> str:
    return formats.day(today() - dt.timedelta(days=days_ago), "en", year=False)


async def test_the_charts_have_an_axis_gaps_and_a_fixed_scale(patient: Api) -> None:
    for days_ago, triggers, treatments, strength in MADE:
        when = local_noon(today() - dt.timedelta(days=days_ago))
        await put_episode(patient, when, triggers=triggers, treatments=treatments, intensity=strength)
    two_days = (today() - dt.timedelta(days=2)).isoformat()
    await patient.put(f"/api/v1/checkins/{two_days}", json={"no_episodes": True, "stiffness": 7})

    for period in (14, 30, 90):
        shown = await page(patient, f"/trends?days={period}")
        assert shown.status_code == 200
        count, strength, stiffness = charts(shown.text)
        bars, gaps = titled(count, "rect"), {k for k, v in titled(count, "rect").items() if v == "no entry"}
        inside = [m for m in MADE if m[0] < period]
        logged = {m[0] for m in inside} | {2}
        assert len(bars) == period
        assert gaps == {label(d) for d in range(period)} - {label(d) for d in logged}  # not drawn as 0
        assert bars[label(2)] == "0"  # the check-in's "no spasms today" is a true zero
        assert bars[label(1)] == "2" and bars[label(5)] == "1"
        ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', count)
        assert ticks == ["0", "1", "2"]  # a value axis with numbers
        assert re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', stiffness) == ["0", "5", "10"]  # fixed 0-10
        assert titled(stiffness, "circle") == {label(2): "7"}  # one dot; the other days are gaps
        assert titled(strength, "circle")[label(1)] == "6" and titled(strength, "circle")[label(5)] == "5"
        dates = re.findall(r'<text class="date"[^>]*>([^<]+)</text>', count)
        assert dates[0] == label(period - 1) and dates[-1] == label(0)

        before = [m for m in MADE if period <= m[0] < 2 * period]
        words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown.text))
        if period == 14:
            assert "3 episodes in the last 14 days, 1 in the 14 before." in words
        elif not before:  # nothing logged in the 30 days before: nothing to compare with, rather than "0"
            assert (
                "4 episodes in the last 30 days. There are no entries in the 30 days before to compare with." in words
            )
        else:
            assert f"{len(inside)} episodes in the last {period} days, {len(before)} in the {period} before." in words

    fourteen = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (await page(patient, "/trends?days=14")).text))
    # Each treatment's own relief, as the words chosen (6 is nearest "A lot", 2 nearest "A little"); none for heat.
    assert "Stretching · 2 times Did it help? A little: 1 · A lot: 1" in fourteen
    assert "Heat · 1 time Did it help? not said: 1" in fourteen
    assert "Average strength 5.7 out of 10, against 9 before." in fourteen


async def test_a_new_user_is_told_what_will_appear_and_when(patient: Api) -> None:
    shown = await page(patient, "/trends")
    assert charts(shown.text) == []
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown.text))
    assert "What you will see here" in words
    assert "You have entries on 0 days so far. Your charts appear after 3 days with an entry." in words
    # Noon today, or a minute ago when noon is still to come (the diary refuses entries in the future).
    await put_episode(patient, min(local_noon(today()), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert "You have entries on 1 day so far." in re.sub(r"\s+", " ", (await page(patient, "/trends")).text)


async def test_spanish_trends_say_it_in_spanish(browser) -> None:  # type: ignore[no-untyped-def]
    patient: Api = await browser()
    await patient.register("patient", language="es")
    for d in (0, 1, 3):
        when = min(local_noon(today() - dt.timedelta(days=d)), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        await put_episode(patient, when, intensity=5)
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (await page(patient, "/trends?days=14")).text))
    assert "3 episodios en los últimos 14 días." in words
    assert "Fuerza media 5 sobre 10." in words


def test_day_bars_and_lines_draw_nothing_for_a_missing_day() -> None:
    bars = day_bars([3, None, 0], ["a", "b", "c"], "t")
    assert re.findall(r'class="bar"[^>]*height="([0-9.]+)"', bars)[1] == "0.0"  # the zero is a bar of height 0
    assert 'class="gap"' in bars and bars.count('class="bar"') == 2
    line = day_line([2, None, 4, 5], ["a", "b", "c", "d"], "t")
    assert line.count("<polyline") == 1 and line.count("<circle") == 3  # the line breaks at the gap
    assert f'viewBox="0 0 {TREND_W} {TREND_H}"' in line
