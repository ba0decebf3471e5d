"""How diary records read on a page, in the patient's language: the body picture, places, times and list rows."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from backend.diary import catalog
from backend.diary.models import Episode
from backend.shared import formats
from backend.shared.i18n import N_, translate

# The body picture: the body from the front and from the back, each a grid the drawing (pwa/templates/patient/
# _body.svg.html) is made to fit, every place a control of at least 48 px. (view, site, side, row, column, columns):
# from the front the patient's right is on the left of the screen; from the back, as one sees oneself from behind,
# the left is on the left.
BODY_PICTURE: list[tuple[str, str, str, int, int, int]] = [
    ("front", "shoulder", "right", 1, 1, 1),
    ("front", "jaw", "middle", 1, 2, 2),
    ("front", "shoulder", "left", 1, 4, 1),
    ("front", "upper_arm", "right", 2, 1, 1),
    ("front", "chest", "middle", 2, 2, 2),
    ("front", "upper_arm", "left", 2, 4, 1),
    ("front", "forearm", "right", 3, 1, 1),
    ("front", "abdomen", "middle", 3, 2, 2),
    ("front", "forearm", "left", 3, 4, 1),
    ("front", "hand", "right", 4, 1, 1),
    ("front", "thigh", "right", 4, 2, 1),
    ("front", "thigh", "left", 4, 3, 1),
    ("front", "hand", "left", 4, 4, 1),
    ("front", "shin", "right", 5, 1, 2),
    ("front", "shin", "left", 5, 3, 2),
    ("front", "foot", "right", 6, 1, 2),
    ("front", "foot", "left", 6, 3, 2),
    ("front", "toes", "right", 7, 1, 2),
    ("front", "toes", "left", 7, 3, 2),
    ("back", "neck", "middle", 1, 1, 2),
    ("back", "upper_back", "middle", 2, 1, 2),
    ("back", "lower_back", "middle", 3, 1, 2),
    ("back", "hip", "left", 4, 1, 1),
    ("back", "hip", "right", 4, 2, 1),
    ("back", "hamstring", "left", 5, 1, 1),
    ("back", "hamstring", "right", 5, 2, 1),
    ("back", "calf", "left", 6, 1, 1),
    ("back", "calf", "right", 6, 2, 1),
]
# The word on the picture, where the place's full name is too long for it (the full name is the control's name).
PICTURE_WORDS = {
    "upper_arm": N_("Arm"),
    "hand": N_("Hand"),
    "hip": N_("Buttock"),
    "thigh": N_("Thigh"),
    "hamstring": N_("Thigh"),
    "upper_back": N_("Upper back"),
    "lower_back": N_("Lower back"),
}
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


def place_name(lang: str, site: str, side: str) -> str:
    """A place as the controls name it: "Left: calf", "Chest"."""
    label = translate(lang, catalog.BODY_SITES[site][0])
    if side in {"left", "right"}:
        return f"{translate(lang, catalog.SIDES[side])}: {label.lower()}"
    return label


def body_rows(lang: str) -> dict[str, list[dict[str, str]]]:
    """The body picture's places by view, each with its value, its full name, its word on the picture and its cell."""
    views: dict[str, list[dict[str, str]]] = {"front": [], "back": []}
    for view, site, side, row, column, span in BODY_PICTURE:
        word = PICTURE_WORDS.get(site) or catalog.BODY_SITES[site][0]
        views[view].append(
            {
                "value": f"{site}:{side}",
                "label": place_name(lang, site, side),
                "word": translate(lang, word),
                "side": side,
                "cell": f"r{row} c{column} s{span}",
            }
        )
    return views


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


def local(value: dt.datetime, zone: ZoneInfo, lang: str = "en") -> str:
    """A moment on the patient's clock in their language, 24-hour: 4 Dec, 22:06; 4 dic, 22:06."""
    return formats.moment(value, zone, lang, year=False)


def list_item(lang: str, e: Episode, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": e.id,
        "local": local(e.started_at, zone, lang),
        "kind_label": translate(lang, catalog.EPISODE_KINDS[e.kind]),
        "where": where_text(lang, e.body_sites),
        "intensity": e.intensity,
        "details": details(lang, e),
    }


def details(lang: str, e: Episode) -> list[str]:
    """What the patient added to an entry, in a few words each: how long, what set it off, what they did."""
    found = []
    if e.duration_seconds:
        minutes = formats.number(max(1, round(e.duration_seconds / 60)), lang, 0)
        found.append(translate(lang, "%(n)s min") % {"n": minutes})
    if e.woke_from_sleep:
        found.append(translate(lang, "woke me up"))
    found += [translate(lang, catalog.TRIGGERS[t]) for t in e.triggers or [] if t in catalog.TRIGGERS]
    found += [
        translate(lang, catalog.TREATMENTS[t["kind"]]) for t in e.treatments or [] if t["kind"] in catalog.TREATMENTS
    ]
    if e.note:
        found.append(f"“{e.note[:60]}{'…' if len(e.note) > 60 else ''}”")
    return found
