"""The educational articles: safe markup, both languages in step, links that land, open to all, and own wording."""

from __future__ import annotations

import hashlib
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from backend.education.articles import ORDER, ROOT, TRIGGER_LINKS, flag_link
from backend.flags.engine import RULES
from tests.conftest import Api
from tests.support.pages import save_settings

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
LANGUAGES = ("en", "es")
ALLOWED_TAGS = {"h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a"}
ALLOWED_ATTRIBUTES = {"h2": {"id"}, "h3": {"id"}, "p": {"class"}, "a": {"href"}}
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
REFERENCE_FILES = ("seed-muscle-spasms-and-spasticity.txt", "CLINICAL.md")
NGRAM = 8


class Outline(HTMLParser):
    """Every tag with its attributes, the ids, the links and the plain text of one article."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []
        self.open: list[str] = []
        self.unbalanced: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.unbalanced.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def ids(self, tag: str | None = None) -> list[str]:
        return [str(a["id"]) for t, a in self.tags if a.get("id") and (tag is None or t == tag)]

    def hrefs(self) -> list[str]:
        return [str(a.get("href") or "") for t, a in self.tags if t == "a"]


def source(language: str, slug: str) -> str:
    return (ROOT / language / f"{slug}.html").read_text(encoding="utf-8")


def outline(language: str, slug: str) -> Outline:
    parser = Outline()
    parser.feed(source(language, slug))
    parser.close()
    return parser


def all_ids(slug: str) -> set[str]:
    return set(outline("en", slug).ids()) & set(outline("es", slug).ids())


def assert_target_exists(target: str) -> None:
    slug, _, fragment = target.partition("#")
    assert slug in ORDER, target
    if fragment:
        assert fragment in all_ids(slug), target


# ---- the files -------------------------------------------------------------------------------------------------------


def test_every_article_is_written_in_both_languages() -> None:
    assert len(set(ORDER)) == len(ORDER) == 6
    for language in LANGUAGES:
        files = {p.stem for p in (ROOT / language).glob("*.html")}
        assert files == set(ORDER), (language, files ^ set(ORDER))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", ORDER)
def test_an_article_is_plain_safe_markup(language: str, slug: str) -> None:
    parsed = outline(language, slug)
    text = source(language, slug)
    assert [t for t, _ in parsed.tags if t == "h1"] == ["h1"]
    assert parsed.tags[0][0] == "h1", "the file starts with its title"
    paragraphs = [attributes for tag, attributes in parsed.tags if tag == "p"]
    assert paragraphs[0] == {"class": "summary"}, "the summary comes first"
    assert paragraphs.count({"class": "summary"}) == 1
    summary = re.search(r'<p class="summary">(.*?)</p>', text, re.S)
    assert summary is not None and len(re.sub(r"<[^>]+>", "", summary.group(1)).split()) >= 8
    assert {t for t, _ in parsed.tags} <= ALLOWED_TAGS, {t for t, _ in parsed.tags} - ALLOWED_TAGS
    for tag, attributes in parsed.tags:
        assert set(attributes) <= ALLOWED_ATTRIBUTES.get(tag, set()), (tag, attributes)
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
        if tag == "p" and "class" in attributes:
            assert attributes["class"] == "summary"
    assert not re.search(r"<\s*(script|style|iframe|img|object|embed|form)\b", text, re.I)
    assert not re.search(r"\son\w+\s*=", text, re.I) and "javascript:" not in text.lower()
    assert parsed.comments == []
    assert parsed.unbalanced == [] and parsed.open == [], (parsed.unbalanced, parsed.open)
    ids = parsed.ids()
    assert len(ids) == len(set(ids)), "section ids are unique"
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids
    assert parsed.ids("h2"), "an article has sections"


@pytest.mark.parametrize("slug", ORDER)
def test_both_languages_have_the_same_sections_and_links(slug: str) -> None:
    english, spanish = outline("en", slug), outline("es", slug)
    assert english.ids("h2") == spanish.ids("h2")
    assert english.ids() == spanish.ids()
    assert english.hrefs() == spanish.hrefs()
    assert [t for t, _ in english.tags if t in {"h2", "h3"}] == [t for t, _ in spanish.tags if t in {"h2", "h3"}]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", ORDER)
def test_every_link_in_an_article_lands_on_an_article_section(language: str, slug: str) -> None:
    hrefs = outline(language, slug).hrefs()
    for href in hrefs:
        assert href.startswith("/learn/"), f"{slug} ({language}) links outside the articles: {href}"
        assert_target_exists(href.removeprefix("/learn/"))


def test_trigger_and_flag_links_land_on_existing_sections() -> None:
    from backend.diary.catalog import TRIGGERS

    assert set(TRIGGER_LINKS) <= set(TRIGGERS)
    for target in TRIGGER_LINKS.values():
        assert_target_exists(target)
    assert RULES, "the rule registry is not empty"
    for rule_id in RULES:
        assert_target_exists(flag_link(rule_id))
    assert flag_link("U1") == "when-to-seek-help#now"
    assert flag_link("S2") == "when-to-seek-help#soon"


def test_the_safety_notices_of_the_pages_link_to_existing_sections() -> None:
    """The templates link red flags to when-to-seek-help#now and #soon, and the menus to articles by slug."""
    templates = Path(__file__).resolve().parents[2] / "pwa" / "templates"
    found = set()
    for path in templates.rglob("*.html"):
        for slug, fragment in re.findall(r'href="/learn/([a-z-]+)(?:#([^"{]*))?', path.read_text(encoding="utf-8")):
            found.add(slug)
            assert_target_exists(f"{slug}#{fragment}" if fragment else slug)
    assert "when-to-seek-help" in found
    assert {"now", "soon"} <= all_ids("when-to-seek-help")


# ---- the pages -------------------------------------------------------------------------------------------------------


async def test_articles_are_open_to_everyone(browser: Any, patient: Api, clinician: Api) -> None:
    anonymous: Api = await browser()
    for visitor in (anonymous, patient, clinician):
        index = await visitor.client.get("/learn", headers=HTML)
        assert index.status_code == 200
        listed = re.findall(r'href="/learn/([a-z-]+)"', index.text)
        assert [s for s in listed if s in ORDER][: len(ORDER)] == list(ORDER)
        for slug in ORDER:
            response = await visitor.client.get(f"/learn/{slug}", headers=HTML)
            assert response.status_code == 200, (slug, response.status_code)
            title = re.search(r"<h1>(.*?)</h1>", source("en", slug)).group(1)  # type: ignore[union-attr]
            assert f"<h1>{title}</h1>" in response.text
            assert '<article class="article" lang="en">' in response.text
            assert not re.search(r"<script\b(?![^>]*\bsrc=)", response.text), "no inline script"


async def test_a_missing_article_is_404(browser: Any, patient: Api) -> None:
    anonymous: Api = await browser()
    for visitor in (anonymous, patient):
        for slug in ("no-such-article", "SELF-CARE", "self-care.html"):
            response = await visitor.client.get(f"/learn/{slug}", headers=HTML)
            assert response.status_code == 404, (slug, response.status_code)
            assert response.headers["content-type"].startswith("text/html")
        assert (await visitor.client.get("/learn/nothing-here", headers={"accept": "application/json"})).json()[
            "code"
        ] == "not-found"


async def test_spanish_articles_for_spanish_readers(browser: Any, patient: Api) -> None:
    anonymous: Api = await browser()
    for slug in ORDER:
        title = re.search(r"<h1>(.*?)</h1>", source("es", slug)).group(1)  # type: ignore[union-attr]
        response = await anonymous.client.get(f"/learn/{slug}", headers={**HTML, "accept-language": "es-ES,es;q=0.9"})
        assert response.status_code == 200
        assert f"<h1>{title}</h1>" in response.text
        assert '<article class="article" lang="es">' in response.text
        assert '<html lang="es">' in response.text
    summary = re.search(r'<p class="summary">(.*?)</p>', source("es", "self-care"), re.S).group(1)  # type: ignore[union-attr]
    index = await anonymous.client.get("/learn", headers={**HTML, "accept-language": "es"})
    assert html.escape(html.unescape(re.sub(r"<[^>]+>", "", summary)).strip(), quote=True) in index.text
    # A signed-in patient reads the language of their profile, whatever the browser says.
    settings = await save_settings(patient, {"language": "es", "time_zone": "Europe/Madrid"})
    assert settings.status_code == 200
    response = await patient.client.get("/learn/treatments", headers={**HTML, "accept-language": "en"})
    assert '<article class="article" lang="es">' in response.text


# ---- written in our own words ----------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", html.unescape(re.sub(r"<[^>]+>", " ", text)).lower().replace("’", "'"))


def ngrams(tokens: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def fingerprint(gram: tuple[str, ...]) -> str:
    return hashlib.sha256(" ".join(gram).encode()).hexdigest()[:12]


FINGERPRINTS = Path(__file__).with_name("reference-8-grams.txt")


def test_the_kept_fingerprints_match_the_reference_texts_when_they_are_here() -> None:
    """The fingerprints file stands in for the shared texts in a clean checkout; where the texts are present (a
    developer's machine), it must be exactly theirs, so it cannot drift or be emptied."""
    kept = {line for line in FINGERPRINTS.read_text().splitlines() if line and not line.startswith("#")}
    assert len(kept) > 5000
    if all((REFERENCE / name).is_file() for name in REFERENCE_FILES):
        grams: set[tuple[str, ...]] = set()
        for name in REFERENCE_FILES:
            grams |= ngrams(words((REFERENCE / name).read_text(encoding="utf-8")))
        assert kept == {fingerprint(g) for g in grams}


def test_no_english_article_copies_eight_words_from_the_reference_texts() -> None:
    reference = {line for line in FINGERPRINTS.read_text().splitlines() if line and not line.startswith("#")}
    copied = {}
    for slug in ORDER:
        shared = [g for g in ngrams(words(source("en", slug))) if fingerprint(g) in reference]
        if shared:
            copied[slug] = sorted(" ".join(g) for g in shared)[:5]
    assert copied == {}
