"""English and Spanish: choosing the language, a complete Spanish catalog, and pages in the visitor's language."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend import messages
from backend.shared import i18n
from backend.shared.i18n import best_language
from tests.conftest import Api
from tests.support.pages import HTML, REPO, headings, hidden, html_lang, page, spanish

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
SUPPORTED = ("en", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# ---- best_language ---------------------------------------------------------------------------------------------------

TAGS = st.sampled_from(
    [
        "en",
        "EN",
        "en-GB",
        "en-us",
        "es",
        "ES",
        "es-ES",
        "es-419",
        "fr",
        "fr-CA",
        "de",
        "pt-BR",
        "eo",
        "x-klingon",
        "english",
        "spanish",
        "e",
        "s",
    ]
)
QUALITIES = st.none() | st.integers(min_value=0, max_value=1000).map(
    lambda n: f"{n / 1000:.3f}".rstrip("0").rstrip(".")
)
ENTRIES = st.lists(st.tuples(TAGS, QUALITIES, st.sampled_from(["", " "])), max_size=6)


def render(entries: list[tuple[str, str | None, str]]) -> str:
    return ",".join(f"{pad}{tag}{'' if q is None else f';{pad}q={q}'}" for tag, q, pad in entries)


def primary(tag: str) -> str:
    return tag.lower().split("-")[0]


def expected_language(entries: list[tuple[str, str | None, str]]) -> str:
    """RFC 9110 12.5.4: the supported language with the highest quality (q=0 means "not acceptable"); on equal
    quality the one listed first; English when nothing supported is acceptable."""
    best: tuple[float, str] | None = None
    for tag, q, _ in entries:
        quality = 1.0 if q is None else float(q)
        if primary(tag) in SUPPORTED and quality > 0 and (best is None or quality > best[0]):
            best = (quality, primary(tag))
    return best[1] if best else "en"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-ES,es;q=0.9", "es"),
        ("en-GB,es;q=0.5", "en"),
        ("fr", "en"),
        ("es;q=0", "en"),
        ("fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7", "es"),
        ("en;q=0.4, es;q=0.6", "es"),
        ("es;q=0.5,en;q=0.5", "es"),
        ("EN-us", "en"),
        ("ES", "es"),
        ("", "en"),
        (None, "en"),
        ("es;q=0, en;q=0", "en"),
    ],
)
def test_best_language_exact_cases(header: str | None, language: str) -> None:
    assert best_language(header) == language


@given(entries=ENTRIES)
@PROPERTY
@example(entries=[("fr", None, ""), ("es", "0.8", ""), ("en", "0.7", "")])
@example(entries=[("es", "0", ""), ("en", "0.001", "")])
@example(entries=[("en", "0.5", " "), ("es-MX", "0.5", " ")])
def test_best_language_picks_the_most_wanted_supported_language(entries: list[tuple[str, str | None, str]]) -> None:
    header = render(entries)
    assert best_language(header) == expected_language(entries), header


@given(
    entries=ENTRIES,
    others=st.lists(st.tuples(st.sampled_from(["fr", "de", "it", "zh-Hant"]), QUALITIES, st.just("")), max_size=3),
)
@PROPERTY
def test_unsupported_or_refused_languages_change_nothing(
    entries: list[tuple[str, str | None, str]], others: list[tuple[str, str | None, str]]
) -> None:
    before = best_language(render(entries))
    assert best_language(render(others + entries)) == before
    assert best_language(render(entries + others)) == before
    assert best_language(render([*entries, ("es", "0", ""), ("en", "0", "")])) == before


@given(entries=ENTRIES)
@PROPERTY
def test_an_accepted_spanish_that_outranks_english_gives_spanish(entries: list[tuple[str, str | None, str]]) -> None:
    wanted = [float(q or 1) for tag, q, _ in entries if primary(tag) == "es" and float(q or 1) > 0]
    english = [float(q or 1) for tag, q, _ in entries if primary(tag) == "en"]
    if wanted and max(wanted) > max(english, default=0.0):
        assert best_language(render(entries)) == "es"
    if not wanted:
        assert best_language(render(entries)) == "en"


@given(header=st.text(max_size=200) | st.from_regex(r"[a-zA-Z*;=.,\- 0-9]{0,60}", fullmatch=True))
@PROPERTY
@example(header="es;q=nan")
@example(header="es;q=inf, en")
@example(header="es;q=1e999")
@example(header=";;;,,,q=")
@example(header="es;q=")
@example(header="\x00es")
def test_best_language_never_raises_and_answers_a_supported_language(header: str) -> None:
    assert best_language(header) in SUPPORTED


# ---- the Spanish catalog ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted_catalog(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Runs the project's own extraction (`python -m backend.messages`) over a copy of pwa/, so that the
    repository is left alone, and reads back the Spanish catalog it wrote."""
    copy = tmp_path_factory.mktemp("pwa") / "pwa"
    for folder in ("templates", "static", "locale"):
        shutil.copytree(REPO / "pwa" / folder, copy / folder)
    messages.extract(copy / "locale")
    with (copy / "locale" / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="es")


def message_texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (tuple, list)) else [str(value or "")]


def test_extraction_finds_the_texts_of_templates_scripts_and_python(extracted_catalog: Any) -> None:
    """Guards the completeness test below against extracting nothing."""
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted_catalog if m.id}
    for text in (
        "Log a spasm",  # a template
        "Choose how strong it was, from 0 to 10.",  # backend/diary/pages.py via _t
        "Your diary for today",  # backend/reminders/planner.py via t
        "must be at most %(n)s",  # backend/shared/forms.py via N_
        "Tiredness",  # the diary catalog's labels
        "Calf",
        "erase my account",
        "%(n)s episode logged",  # ngettext
    ):
        assert text in ids, text
    assert len(ids) > 200


def test_every_text_has_a_spanish_translation(extracted_catalog: Any) -> None:
    missing = []
    for message in extracted_catalog:
        if not message.id:
            continue
        if any(not text.strip() for text in message_texts(message.string)) or message.fuzzy:
            missing.append(message.id)
    assert missing == [], f"{len(missing)} texts without Spanish: {missing[:20]}"


def test_placeholders_match_between_english_and_spanish(extracted_catalog: Any) -> None:
    wrong = []
    for message in extracted_catalog:
        if not message.id:
            continue
        names = set().union(*(PLACEHOLDER.findall(text) for text in message_texts(message.id)))
        plural = isinstance(message.id, (tuple, list))
        for text in message_texts(message.string):
            if not text:
                continue
            found = set(PLACEHOLDER.findall(text))
            # A plural's singular may leave out %(n)s ("one episode"); every other placeholder must be kept.
            if found != names and not (plural and found == names - {"n"}):
                wrong.append((message.id, text))
                continue
            if names or plural:
                try:
                    text % dict.fromkeys(names | {"n"}, 1)
                except (KeyError, ValueError, TypeError) as exc:
                    wrong.append((message.id, f"{text} ({exc})"))
    assert wrong == []


def test_the_repository_catalog_is_up_to_date(extracted_catalog: Any) -> None:
    """The catalog in the repository already holds every text: nobody forgot `make messages`."""
    with (REPO / "pwa" / "locale" / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        stored = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle, locale="es") if m.id}
    found = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted_catalog if m.id}
    assert found - stored == set()


def test_translate_and_template_functions_use_the_catalog() -> None:
    assert i18n.translate("es", "Log a spasm") == spanish("Log a spasm")
    assert i18n.translate("en", "Log a spasm") == "Log a spasm"
    assert i18n.translate("xx", "Log a spasm") == "Log a spasm"
    words = i18n.template_functions("es")
    assert words["lang"] == "es"
    assert str(words["ngettext"]("%(n)s episode logged", "%(n)s episodes logged", 3)) == (
        spanish_plural("%(n)s episode logged", 1) % {"n": 3}
    )
    # Values are escaped: a name cannot inject markup through a translation.
    assert "<b>" not in str(words["_"]("%(n)s days", n="<b>"))


def spanish_plural(msgid: str, form: int) -> str:
    with (REPO / "pwa" / "locale" / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        for message in read_po(handle, locale="es"):
            if isinstance(message.id, (tuple, list)) and message.id[0] == msgid:
                return message_texts(message.string)[form]
    raise AssertionError(msgid)


# ---- pages in the visitor's language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("/sign-in", "Sign in"),
        ("/register", "Create an account"),
        ("/learn", "Learn about spasms and cramps"),
        ("/offline", "You are offline"),
    ],
)
async def test_anonymous_pages_follow_the_browsers_language(browser: Any, url: str, heading: str) -> None:
    visitor: Api = await browser()
    spanish_page = await page(visitor, url, **{"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    assert spanish_page.status_code == 200
    assert html_lang(spanish_page.text) == "es"
    assert headings(spanish_page.text) == [spanish(heading)]
    title = re.search(r"<title>(.*?)</title>", spanish_page.text, re.S)
    assert title is not None and spanish("Spasm diary") in title.group(1)
    assert "Spasm diary" not in spanish_page.text

    english_page = await page(visitor, url, **{"accept-language": "en-GB,es;q=0.5"})
    assert html_lang(english_page.text) == "en"
    assert headings(english_page.text) == [heading]
    assert spanish(heading) not in english_page.text

    default = await page(visitor, url)
    assert html_lang(default.text) == "en"


async def test_an_error_page_follows_the_browsers_language(browser: Any) -> None:
    visitor: Api = await browser()
    missing = await page(visitor, "/no-such-page", **{"accept-language": "es"})
    assert missing.status_code == 404
    assert html_lang(missing.text) == "es"
    assert spanish("Back to the start") in missing.text


@pytest.mark.parametrize(
    ("header", "language"), [("es-ES,es;q=0.9", "es"), ("es-MX", "es"), ("fr, en;q=0.3", "en"), ("de", "en")]
)
async def test_registering_by_form_keeps_the_browsers_language(browser: Any, header: str, language: str) -> None:
    visitor: Api = await browser()
    form = await page(visitor, "/register", **{"accept-language": header})
    data = {
        "_csrf": hidden(form.text, "_csrf", "/register"),
        "display_name": "Idioma",
        "email": f"idioma-{uuid.uuid4().hex[:10]}@example.org",
        "password": "una frase bastante larga",
        "role": "patient",
        "time_zone": "Europe/Madrid",
    }
    response = await visitor.client.post("/register", data=data, headers={**HTML, "accept-language": header})
    assert response.status_code == 303, response.text
    profile = await visitor.client.get("/api/v1/profile")
    assert profile.status_code == 200
    assert profile.json()["language"] == language
    # From now on the profile decides, whatever the browser says.
    home = await page(visitor, "/log", **{"accept-language": "en" if language == "es" else "es"})
    assert html_lang(home.text) == language


def test_the_catalog_file_is_where_the_app_reads_it() -> None:
    assert Path(i18n.LOCALE_DIR) == REPO / "pwa" / "locale"
    assert (i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").is_file()
