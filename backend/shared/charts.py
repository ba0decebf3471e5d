"""Small SVG charts for the pages and the report: plain markup, so they print, work in the PDF and need no script."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from markupsafe import Markup, escape


class Marked(Protocol):
    """What a chart marks on its days: a treatment with a start and perhaps a stop (flags.window.Plan is one)."""

    @property
    def name(self) -> str: ...

    @property
    def start(self) -> dt.date: ...

    @property
    def stop(self) -> dt.date | None: ...


WIDTH, HEIGHT, PAD = 640, 160, 24


def daily_chart(daily: list[tuple[dt.date, int]], average: list[float], plans: Sequence[Marked], title: str) -> Markup:
    """Bars of daily episode counts, the 7-day moving average as a line, and treatment start/stop markers."""
    n = max(1, len(daily))
    top = max([c for _, c in daily] + [1.0])
    step = (WIDTH - 2 * PAD) / n

    def y(value: float) -> float:
        return HEIGHT - PAD - value / top * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (day, count) in enumerate(daily):
        x = PAD + i * step
        parts.append(
            f'<rect class="bar" fill="#7aa6d8" x="{x:.1f}" y="{y(count):.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{HEIGHT - PAD - y(count):.1f}"><title>{day.isoformat()}: {count}</title></rect>'
        )
    points = " ".join(f"{PAD + (i + 0.5) * step:.1f},{y(v):.1f}" for i, v in enumerate(average))
    parts.append(f'<polyline class="average" fill="none" stroke="#0b3d75" stroke-width="2" points="{points}"/>')
    first = daily[0][0] if daily else dt.date.today()
    for plan in plans:
        for when, label in ((plan.start, "start"), (plan.stop, "stop")):
            if when is None or not 0 <= (when - first).days < n:
                continue
            x = PAD + (when - first).days * step
            parts.append(
                f'<line class="marker {label}" stroke="#a85d00" stroke-dasharray="4 3" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD / 2}" y2="{HEIGHT - PAD}"/>'
                f'<text class="marker-label" x="{x + 2:.1f}" y="{PAD / 2 + 8}">{escape(plan.name)} '
                f"{label}</text>"
            )
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 6}" class="axis">{first.isoformat()}</text>')
    if daily:
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" text-anchor="end" class="axis">{daily[-1][0].isoformat()}</text>'
        )
    parts.append(f'<text x="2" y="{PAD}" class="axis">{int(top)}</text></svg>')
    return Markup("".join(parts))


def bars(values: list[tuple[str, int]], title: str) -> Markup:
    n = max(1, len(values))
    top = max([v for _, v in values] + [1])
    step = (WIDTH - 2 * PAD) / n
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(values):
        h = value / top * (HEIGHT - 2 * PAD - 8)
        x = PAD + i * step
        parts.append(
            f'<rect class="bar" fill="#7aa6d8" x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {value}</title></rect>'
        )
        if n <= 12 or i % 3 == 0:
            parts.append(
                f'<text class="axis" x="{x + step / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def nrs_chart(series: list[tuple[dt.date, float | None]], title: str) -> Markup:
    """Daily 0-10 ratings as dots, with their 7-day moving average (over the days that have a rating)."""
    n = max(1, len(series))
    step = (WIDTH - 2 * PAD) / n

    def y(value: float) -> float:
        return HEIGHT - PAD - value / 10 * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    averaged = []
    for i, (day, value) in enumerate(series):
        window = [v for _, v in series[max(0, i - 6) : i + 1] if v is not None]
        if window:
            averaged.append(f"{PAD + (i + 0.5) * step:.1f},{y(sum(window) / len(window)):.1f}")
        if value is not None:
            parts.append(
                f'<circle fill="#7aa6d8" cx="{PAD + (i + 0.5) * step:.1f}" cy="{y(value):.1f}" r="2.5">'
                f"<title>{day.isoformat()}: {value:g}</title></circle>"
            )
    if averaged:
        parts.append(f'<polyline fill="none" stroke="#0b3d75" stroke-width="2" points="{" ".join(averaged)}"/>')
    parts.append(
        f'<text x="2" y="{PAD}" class="axis">10</text><text x="2" y="{HEIGHT - PAD}" class="axis">0</text></svg>'
    )
    return Markup("".join(parts))


# ---- the patient's trend charts ---------------------------------------------------------------------------------------
# Drawn at a phone's width (a 360-unit view box shown as wide as the page, never wider than 30rem: app.css), so a label
# of 15 units reads at 11 px or more even on a 320 px screen, about 14.5 px on a 390 px phone, at most 20 px on a laptop. Each has a value
# axis with numbers, dates from the caller (formatted in the reader's language), and days without an entry drawn as
# gaps, never as zero.

TREND_W, TREND_H = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 12, 30
FONT = 15
INK, BAR, LINE, GAP, GRID = "#1b1b1b", "#2f6db5", "#0b3d75", "#6b6b6b", "#d0d7de"


def nice_top(value: float) -> int:
    """The least of 2, 5, 10, 20, 50, 100... at or above ``value``, so the axis has round numbers."""
    return next(m * 10**e for e in range(7) for m in (1, 2, 5) if m * 10**e >= max(value, 2))


def _ticks(top: int) -> list[int]:
    """0, the middle and the top (0, 1, 2 for a top of 2; 0, 5, 10; 0, 10, 20...)."""
    return [0, top // 2, top] if top % 2 == 0 else [0, top]


def _frame(title: str, top: int, ticks: list[int], labels: Sequence[str], number: Callable[[float], str]) -> list[str]:
    plot_h = TREND_H - TOP - BOTTOM
    parts = [
        f'<svg viewBox="0 0 {TREND_W} {TREND_H}" role="img" aria-label="{escape(title)}" class="trend-chart">',
        f"<title>{escape(title)}</title>",
        f'<g class="axis" font-size="{FONT}" fill="{INK}">',
    ]
    for tick in ticks:
        y = TOP + plot_h - tick / top * plot_h
        parts.append(
            f'<line stroke="{GRID}" x1="{LEFT}" x2="{TREND_W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end">{escape(number(tick))}</text>'
        )
    n = max(1, len(labels))
    step = (TREND_W - LEFT - RIGHT) / n
    shown = sorted({0, n // 3, (2 * n) // 3, n - 1}) if n > 4 else list(range(n))
    for i in shown:
        if i >= len(labels):
            continue
        anchor = "start" if i == 0 and n > 4 else "end" if i == n - 1 and n > 4 else "middle"
        x = LEFT if anchor == "start" else TREND_W - RIGHT if anchor == "end" else LEFT + (i + 0.5) * step
        parts.append(
            f'<text class="date" x="{x:.1f}" y="{TREND_H - 10}" text-anchor="{anchor}">{escape(labels[i])}</text>'
        )
    parts.append("</g>")
    return parts


def day_bars(
    values: Sequence[int | None],
    labels: Sequence[str],
    title: str,
    *,
    number: Callable[[float], str] = lambda v: f"{v:g}",
    missing: str = "no entry",
) -> Markup:
    """Bars of a daily count on a value axis of round numbers; a day that is None (nothing logged) is a gap with a
    small grey mark at the base, not a bar of zero."""
    top = nice_top(max([v for v in values if v is not None] + [0]))
    parts = _frame(title, top, _ticks(top), labels, number)
    plot_h = TREND_H - TOP - BOTTOM
    step = (TREND_W - LEFT - RIGHT) / max(1, len(values))
    base = TOP + plot_h
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = LEFT + i * step
        if value is None:
            parts.append(
                f'<rect class="gap" fill="{GAP}" x="{x + step * 0.3:.1f}" y="{base - 2:.1f}" '
                f'width="{max(step * 0.4, 1):.1f}" height="2"><title>{escape(label)}: {escape(missing)}</title></rect>'
            )
            continue
        h = value / top * plot_h
        parts.append(
            f'<rect class="bar" fill="{BAR}" x="{x + 0.5:.1f}" y="{base - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {escape(number(value))}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def day_line(
    values: Sequence[float | None],
    labels: Sequence[str],
    title: str,
    *,
    number: Callable[[float], str] = lambda v: f"{v:g}",
    top: int = 10,
) -> Markup:
    """A daily rating on a fixed scale (0 to ``top``, 0-10 for stiffness and strength) as dots joined where days
    follow each other; a day without a value breaks the line (a gap, not a fall to 0)."""
    parts = _frame(title, top, [0, top // 2, top], labels, number)
    plot_h = TREND_H - TOP - BOTTOM
    step = (TREND_W - LEFT - RIGHT) / max(1, len(values))
    runs: list[list[str]] = [[]]
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        if value is None:
            runs.append([])
            continue
        x, y = LEFT + (i + 0.5) * step, TOP + plot_h - min(value, top) / top * plot_h
        runs[-1].append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle class="dot" fill="{LINE}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(label)}: {escape(number(value))}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
