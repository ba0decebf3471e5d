"""English and Spanish for every page, through gettext catalogs (``pwa/locale/<lang>/LC_MESSAGES/messages.po``).

Templates mark text with ``_("...")`` (``_("%(n)s episodes", n=3)`` for values, escaped) and ``ngettext``. The
catalogs are compiled in memory when the process starts, so no binary ``.mo`` file is kept in the repository.
``make messages`` extracts new strings into the catalogs (backend/messages.py).

The language of a page: the signed-in patient's profile, else the browser's Accept-Language, else English.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
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
