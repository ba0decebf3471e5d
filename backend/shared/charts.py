"""Small SVG charts for the pages and the report: plain markup, so they print, work in the PDF and need no script."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
