"""Charts drawn at their real size for the clinician's pages: the triage list's sparkline. Unlike the report's charts
(backend/shared/charts.py, scaled to the page's width), these are never stretched, so their text is the size it
says (at least 11 px) on every screen and in print."""

from __future__ import annotations

from markupsafe import Markup, escape

TEXT_PX = 12  # >= 11 px, legible at arm's length on a laptop
BAR_AREA = 26


def sparkline(counts: list[int], first_label: str, last_label: str, title: str) -> Markup:
    """Daily counts as small bars, with the highest count written at the top and the first and last day below."""
    n = max(1, len(counts))
    bar = max(4, min(18, 150 // n))
    pad = 2
    width = n * bar + 2 * pad
    top = max([*counts, 1])
    height = TEXT_PX + 4 + BAR_AREA + TEXT_PX + 6
    base = TEXT_PX + 4 + BAR_AREA
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="sparkline">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad}" y="{TEXT_PX}" font-size="{TEXT_PX}" fill="#333">{max(counts, default=0)}</text>',
        f'<line x1="0" x2="{width}" y1="{base + 0.5}" y2="{base + 0.5}" stroke="#767676"/>',
    ]
    for i, count in enumerate(counts):
        h = count / top * BAR_AREA
        if count:
            parts.append(
                f'<rect x="{pad + i * bar + 0.5}" y="{base - h:.1f}" width="{bar - 1}" height="{h:.1f}" fill="#2f6db3"/>'
            )
    y = height - 4
    parts.append(f'<text x="{pad}" y="{y}" font-size="{TEXT_PX}" fill="#333">{escape(first_label)}</text>')
    parts.append(
        f'<text x="{width - pad}" y="{y}" font-size="{TEXT_PX}" fill="#333" text-anchor="end">'
        f"{escape(last_label)}</text></svg>"
    )
    return Markup("".join(parts))
