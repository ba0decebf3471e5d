"""English and Spanish for every page, through gettext catalogs (``pwa/locale/<lang>/LC_MESSAGES/messages.po``).

Templates mark text with ``_("...")`` (``_("%(n)s episodes", n=3)`` for values, escaped) and ``ngettext``. The
catalogs are compiled in memory when the process starts, so no binary ``.mo`` file is kept in the repository.
``make messages`` extracts new strings into the catalogs (``python -m backend.web.i18n extract``).

The language of a page: the signed-in patient's profile, else the browser's Accept-Language, else English.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
import sys
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

LANGUAGES = ("en", "es")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parents[2] / "pwa" / "locale"


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not po.exists():
        return gettext_module.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def best_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, by quality (RFC 9110 12.5.4)."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else DEFAULT


def N_(text: str) -> str:
    """Marks text for the catalogs where it is defined; it is translated where it is shown (``translate``)."""
    return text


def template_functions(language: str) -> dict[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` for a template, in the style of Jinja's newstyle gettext (values escaped)."""
    found = translations(language if language in LANGUAGES else DEFAULT)

    def gettext(message: str, **values: Any) -> Markup:
        text = Markup(found.gettext(message))
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> Markup:
        text = Markup(found.ngettext(singular, plural, n))
        return text % {"n": n, **values}

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "lang": language}


def translate(language: str, message: str) -> str:
    """Plain text (not markup) in a language: for labels that come from Python, such as the catalog's."""
    return translations(language if language in LANGUAGES else DEFAULT).gettext(message)


def _extract() -> None:
    """Collects the strings of the templates and the diary catalog into each language's messages.po."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import write_po

    from backend.diary import catalog as diary_catalog

    root = LOCALE_DIR.parent
    template = Catalog(project="spasm-diary", charset="utf-8")
    method_map = [("templates/**.html", "jinja2"), ("static/**.js", "javascript")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}
    for filename, lineno, message, _comments, _context in extract_from_dir(root, method_map, options, keywords):
        template.add(message, locations=[(filename, lineno)])
    python_keywords = {"_t": (2,), "t": None, "translate": (2,), "N_": None}
    # Where people's words come from Python (the flag rules' own `t` is their thresholds, so only wording.py there).
    areas = [
        (pattern, "python")
        for pattern in ("web/**.py", "accounts/**.py", "reminders/**.py", "education/**.py", "flags/wording.py")
    ]
    for filename, lineno, message, _comments, _context in extract_from_dir(Path(__file__).resolve().parents[1], areas,
                                                                           {}, python_keywords):  # fmt: skip
        template.add(message, locations=[(f"backend/{filename}", lineno)])
    for label in diary_catalog.labels():
        template.add(label, locations=[("backend/diary/catalog.py", 0)])
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                existing = read_po(handle, locale=language)
            existing.update(template, no_fuzzy_matching=True)
        else:
            existing = Catalog(locale=language, project="spasm-diary", charset="utf-8")
            existing.update(template, no_fuzzy_matching=True)
        existing.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, existing, width=120, omit_header=False, sort_output=True)
        missing = sum(1 for m in existing if m.id and not m.string)
        print(f"{path}: {len(existing)} messages, {missing} without translation")


if __name__ == "__main__":
    if sys.argv[1:] == ["extract"]:
        _extract()
    else:
        sys.exit("usage: python -m backend.web.i18n extract")
