"""How diary records read on a page, in the patient's language: the body picture, places, times and list rows."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from backend.diary import catalog
from backend.diary.models import Episode
from backend.shared.i18n import N_, translate

# The body picture, as rows of a grid seen from the front; the patient's right is on the left of the screen.
BODY_LAYOUT: list[list[tuple[str, str] | None]] = [
    [None, ("jaw", "middle"), ("neck", "middle"), None],
    [("shoulder", "right"), ("chest", "middle"), ("upper_back", "middle"), ("shoulder", "left")],
    [("upper_arm", "right"), ("abdomen", "middle"), ("lower_back", "middle"), ("upper_arm", "left")],
    [("forearm", "right"), ("hip", "right"), ("hip", "left"), ("forearm", "left")],
    [("hand", "right"), ("thigh", "right"), ("thigh", "left"), ("hand", "left")],
    [None, ("hamstring", "right"), ("hamstring", "left"), None],
    [None, ("shin", "right"), ("shin", "left"), None],
    [None, ("calf", "right"), ("calf", "left"), None],
    [None, ("foot", "right"), ("foot", "left"), None],
    [None, ("toes", "right"), ("toes", "left"), None],
]
# The fields of the diary's forms by the words the pages use for them, for messages about them.
FIELD_NAMES = {
    "kind": N_("What it was"),
    "intensity": N_("Strength"),
    "duration_minutes": N_("Minutes"),
    "duration_seconds": N_("Minutes"),
    "where": N_("Where"),
    "body_sites": N_("Where"),
    "triggers": N_("Triggers"),
    "treatments": N_("What you did"),
    "note": N_("Note"),
    "started_at": N_("Start"),
    "stiffness": N_("Stiffness"),
    "sleep_disturbance": N_("Sleep"),
    "pain": N_("Pain"),
    "temperature_c": N_("Temperature"),
    "systolic_bp": N_("Blood pressure"),
    "frequency": N_("How often"),
    "severity": N_("How bad"),
    "week": N_("Week"),
}


def body_rows(lang: str) -> list[list[dict[str, str] | None]]:
    side_word = {"left": translate(lang, "Left"), "right": translate(lang, "Right")}
    rows: list[list[dict[str, str] | None]] = []
    for row in BODY_LAYOUT:
        cells: list[dict[str, str] | None] = []
        for cell in row:
            if cell is None:
                cells.append(None)
                continue
            site, side = cell
            label = translate(lang, catalog.BODY_SITES[site][0])
            text = f"{side_word[side]}: {label.lower()}" if side in side_word else label
            cells.append({"value": f"{site}:{side}", "label": text, "side": side})
        rows.append(cells)
    return rows


def options(lang: str, table: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, translate(lang, label)) for code, label in table.items()]


def where_text(lang: str, sites: list[Any]) -> str:
    parts = []
    for b in sites:
        site, side = (b["site"], b["side"]) if isinstance(b, dict) else (b.site, b.side)
        label = translate(lang, catalog.BODY_SITES[site][0])
        side_word = translate(lang, catalog.SIDES[side]).lower()
        parts.append(label if side in {"middle", "both"} else f"{label} ({side_word})")
    return ", ".join(parts)


def local(value: dt.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%d/%m %H:%M")


def list_item(lang: str, e: Episode, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": e.id,
        "local": local(e.started_at, zone),
        "kind_label": translate(lang, catalog.EPISODE_KINDS[e.kind]),
        "where": where_text(lang, e.body_sites),
        "intensity": e.intensity,
    }
