"""The educational articles: one HTML file per article and language under ``pwa/education/<lang>/<slug>.html``.

They are written for this project from the facts in the shared reference files (see ``pwa/education/SOURCES.md``) and
are trusted content of the repository, so they are inserted into pages as they are. Each file starts with its ``<h1>``
title and a ``<p class="summary">``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[2] / "pwa" / "education"
ORDER = ("spasms-and-spasticity", "causes-and-triggers", "self-care", "treatments", "prevention", "when-to-seek-help")
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
SUMMARY = re.compile(r'<p class="summary">(.*?)</p>', re.S)
TAG = re.compile(r"<[^>]+>")

# Where a trigger on the episode form and a flag on the home page lead (the ids are the articles' section ids).
TRIGGER_LINKS = {
    "fatigue": "causes-and-triggers#fatigue",
    "dehydration": "causes-and-triggers#fluids-and-minerals",
    "low_potassium": "causes-and-triggers#fluids-and-minerals",
    "low_calcium": "causes-and-triggers#fluids-and-minerals",
    "stress": "causes-and-triggers#stress",
    "muscle_tension": "causes-and-triggers#muscle-tension",
    "injury": "causes-and-triggers#injury",
    "full_bladder": "causes-and-triggers#body-signals",
    "constipation": "causes-and-triggers#body-signals",
    "uti_symptoms": "causes-and-triggers#body-signals",
    "skin_problem": "causes-and-triggers#body-signals",
    "tight_clothing": "causes-and-triggers#body-signals",
    "heat": "causes-and-triggers#temperature",
    "cold": "causes-and-triggers#temperature",
}


def flag_link(rule_id: str) -> str:
    """Urgent rules (U*) lead to the red flags, the others to when to book an appointment (CLINICAL.md section (a))."""
    if rule_id.startswith("U"):
        return "when-to-seek-help#now"
    if rule_id.startswith("S"):
        return "when-to-seek-help#soon"
    return "prevention"


@dataclass(frozen=True)
class Article:
    slug: str
    language: str
    title: str
    summary: str
    html: Markup


@functools.cache
def article(slug: str, language: str) -> Article | None:
    """The article in that language, or in English when it has not been written in it yet."""
    if slug not in ORDER:
        return None
    for candidate in (language, "en"):
        path = ROOT / candidate / f"{slug}.html"
        if path.exists():
            text = path.read_text(encoding="utf-8")
            title = TITLE.search(text)
            summary = SUMMARY.search(text)
            return Article(
                slug=slug,
                language=candidate,
                title=TAG.sub("", title.group(1)).strip() if title else slug,
                summary=TAG.sub("", summary.group(1)).strip() if summary else "",
                html=Markup(text),
            )
    return None


def articles(language: str) -> list[Article]:
    return [a for slug in ORDER if (a := article(slug, language)) is not None]
