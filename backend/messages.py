"""Collects every text people read into the catalogs: ``python -m backend.messages`` (``make messages``).

Texts come from the templates and scripts (``_``, ``ngettext``), from Python anywhere in the backend (``N_``,
``translate``, ``_t``; the flag rules' own ``t`` is their thresholds, so their folder is left out) and from the diary
catalog's labels. Each language's catalog keeps its translations; new texts arrive untranslated, and texts no longer
used are dropped. A test runs this over a copy of pwa/ and requires a Spanish translation for every text.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from backend.diary import catalog as diary_catalog
from backend.shared import i18n

BACKEND = Path(__file__).resolve().parent
PAGE_METHODS = [("templates/**.html", "jinja2"), ("static/**.js", "javascript")]
PAGE_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PAGE_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}
# The rules' words (rules/words.py) are extracted; the rest of the rules folder is not (there ``t`` is thresholds).
PYTHON_METHODS = [("flags/rules/words.py", "python"), ("flags/rules/**.py", "ignore"), ("**.py", "python")]
PYTHON_KEYWORDS = {"_t": (2,), "translate": (2,), "N_": None, "t": None}


def template(locale_dir: Path) -> Catalog:
    """Every text, with where it comes from."""
    found = Catalog(project="spasm-diary", charset="utf-8")
    for filename, lineno, message, _comments, _context in extract_from_dir(
        locale_dir.parent, PAGE_METHODS, PAGE_OPTIONS, PAGE_KEYWORDS
    ):
        found.add(message, locations=[(filename, lineno)])
    for filename, lineno, message, _comments, _context in extract_from_dir(
        BACKEND, PYTHON_METHODS, {}, PYTHON_KEYWORDS
    ):
        found.add(message, locations=[(f"backend/{filename}", lineno)])
    for label in diary_catalog.labels():
        found.add(label, locations=[("backend/diary/catalog.py", 0)])
    return found


def extract(locale_dir: Path = i18n.LOCALE_DIR) -> None:
    texts = template(locale_dir)
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT:
            continue
        path = locale_dir / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                existing = read_po(handle, locale=language)
        else:
            existing = Catalog(locale=language, project="spasm-diary", charset="utf-8")
        existing.update(texts, no_fuzzy_matching=True)
        existing.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, existing, width=120, omit_header=False, sort_output=True)
        missing = sum(1 for m in existing if m.id and not m.string)
        print(f"{path}: {len(existing)} messages, {missing} without translation")


if __name__ == "__main__":
    if sys.argv[1:]:
        sys.exit("usage: python -m backend.messages")
    extract()
