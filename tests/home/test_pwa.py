"""The installable app: the service worker and its precache list, the manifest and its icons, and the page weight."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from backend.education.articles import ORDER
from backend.home import pwa
from tests.conftest import Api
from tests.support.pages import REPO, page, spanish

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JS_BUDGET = 50 * 1024
CSS_BUDGET = 30 * 1024
JS_TYPES = ("text/javascript", "application/javascript")
IMPORT = re.compile(
    r"""(?:^|[;\s])import\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)"""
)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""")


def worker_parts(source: str) -> tuple[str, list[str]]:
    version = re.search(r'const VERSION = "([^"]*)";', source)
    shell = re.search(r"const SHELL = (\[.*?\]);", source, re.S)
    assert version is not None and shell is not None, source[:500]
    return version.group(1), json.loads(shell.group(1))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def imports(source: str) -> list[str]:
    return [a or b for a, b in IMPORT.findall(source)]


# ---- the service worker ----------------------------------------------------------------------------------------------


async def test_the_service_worker_is_javascript_with_a_version_and_the_shell(browser: Any) -> None:
    visitor: Api = await browser()
    response = await visitor.client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in JS_TYPES
    assert response.headers.get("service-worker-allowed") == "/"
    assert "no-cache" in response.headers.get("cache-control", "") or "no-store" in response.headers["cache-control"]
    assert "__VERSION__" not in response.text and "__SHELL__" not in response.text
    version, shell = worker_parts(response.text)
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert len(shell) == len(set(shell))
    for needed in ("/offline", "/learn", "/static/app.js", "/static/app.css", *[f"/learn/{slug}" for slug in ORDER]):
        assert needed in shell, needed
    # The same answer every time: the browser installs a new worker only when something changed.
    assert (await visitor.client.get("/sw.js")).text == response.text


async def test_every_precached_address_answers_200(browser: Any, patient: Api) -> None:
    """cache.addAll() fails the whole install when one address does not answer 200."""
    anonymous: Api = await browser()
    _, shell = worker_parts((await anonymous.client.get("/sw.js")).text)
    for visitor in (anonymous, patient):
        for url in shell:
            response = await visitor.client.get(url, follow_redirects=False)
            assert response.status_code == 200, (url, response.status_code)


async def test_the_shell_holds_everything_the_offline_page_needs(browser: Any) -> None:
    """Offline, the log page and the worker itself need every script module they import, and the style sheet."""
    anonymous: Api = await browser()
    source = (await anonymous.client.get("/sw.js")).text
    _, shell = worker_parts(source)
    needed = {urljoin("/sw.js", i) for i in imports(source)}
    offline = await page(anonymous, "/offline")
    needed |= set(re.findall(r'<script[^>]*\bsrc="([^"]+)"', offline.text))
    needed |= set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', offline.text))
    queue = list(needed)
    while queue:
        url = queue.pop()
        if url.endswith(".js"):
            for found in imports((await anonymous.client.get(url)).text):
                target = urljoin(url, found)
                if target not in needed:
                    needed.add(target)
                    queue.append(target)
    assert needed <= set(shell), needed - set(shell)


@pytest.fixture
def pwa_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The service worker reading a copy of pwa/, so that a test may change a precached file."""
    copy = tmp_path / "pwa"
    shutil.copytree(REPO / "pwa", copy)
    monkeypatch.setattr(pwa, "PWA", copy)
    pwa._version.cache_clear()
    try:
        yield copy
    finally:
        monkeypatch.undo()
        pwa._version.cache_clear()


async def test_the_version_changes_when_a_precached_file_changes(browser: Any, pwa_copy: Path) -> None:
    visitor: Api = await browser()

    async def version() -> str:
        pwa._version.cache_clear()
        return worker_parts((await visitor.client.get("/sw.js")).text)[0]

    first = await version()
    assert await version() == first, "the same files give the same version"
    seen = {first}
    for changed in (
        "static/app.css",
        "static/outbox.js",
        "education/es/self-care.html",
        "templates/offline.html",
        "locale/es/LC_MESSAGES/messages.po",
        "sw.js",
    ):
        path = pwa_copy / changed
        path.write_bytes(path.read_bytes() + b"\n")
        now = await version()
        assert now not in seen, changed
        seen.add(now)
    (pwa_copy / "static" / "icons" / "new.svg").write_text("<svg/>")
    assert await version() not in seen, "a new file counts too"


def test_the_repository_version_is_a_hash_of_the_files() -> None:
    pwa._version.cache_clear()
    try:
        assert pwa._version() == pwa._version()
        assert re.fullmatch(r"[0-9a-f]{12}", pwa._version())
    finally:
        pwa._version.cache_clear()


# ---- the manifest ----------------------------------------------------------------------------------------------------


async def test_the_manifest_makes_an_installable_app(browser: Any) -> None:
    visitor: Api = await browser()
    response = await visitor.client.get("/manifest.webmanifest", headers={"accept-language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert manifest["name"] == "Spasm diary" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["start_url"].startswith(manifest["scope"])
    assert manifest["lang"] == "en"
    pngs = [i for i in manifest["icons"] if i.get("type") == "image/png"]
    for icon in pngs:
        image = await visitor.client.get(icon["src"])
        assert image.status_code == 200, icon
        assert image.headers["content-type"].startswith("image/png")
        width, height = png_size(image.content)
        assert icon["sizes"] == f"{width}x{height}", (icon, width, height)
    purposes = [(i["sizes"], i.get("purpose", "any")) for i in pngs]
    assert ("192x192", "any") in purposes and ("512x512", "any") in purposes
    maskable = [i for i in pngs if "maskable" in i.get("purpose", "").split()]
    assert maskable and png_size((await visitor.client.get(maskable[0]["src"])).content) >= (192, 192)

    shortcut = [s for s in manifest["shortcuts"] if s["name"] == "Log a spasm"]
    assert len(shortcut) == 1 and shortcut[0]["url"] == "/log"
    for item in manifest["shortcuts"]:
        assert item["url"].startswith(manifest["scope"])
        for icon in item.get("icons", []):
            image = await visitor.client.get(icon["src"])
            assert image.status_code == 200
            assert f"{png_size(image.content)[0]}x{png_size(image.content)[1]}" == icon["sizes"]

    # The theme colour of the manifest is the one the pages declare.
    sign_in = await page(visitor, "/sign-in")
    assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in sign_in.text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in sign_in.text


async def test_the_manifest_speaks_spanish_to_spanish_browsers(browser: Any) -> None:
    visitor: Api = await browser()
    manifest = (await visitor.client.get("/manifest.webmanifest", headers={"accept-language": "es-ES,es"})).json()
    assert manifest["lang"] == "es"
    assert manifest["name"] == spanish("Spasm diary")
    assert [s["url"] for s in manifest["shortcuts"] if s["name"] == spanish("Log a spasm")] == ["/log"]


# ---- page weight -----------------------------------------------------------------------------------------------------


async def test_the_log_page_stays_within_its_budget(patient: Api) -> None:
    log = await page(patient, "/log")
    assert log.status_code == 200
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', log.text)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', log.text)
    assert scripts and sheets

    async def weigh(start: list[str], follow: re.Pattern[str], types: tuple[str, ...]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        queue = [urljoin("/log", s) for s in start]
        while queue:
            url = queue.pop()
            if url in sizes:
                continue
            assert urlsplit(url).netloc in ("", "testserver.local"), f"a third-party file: {url}"
            response = await patient.client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].split(";")[0] in types, (url, response.headers["content-type"])
            sizes[url] = len(gzip.compress(response.content, compresslevel=6))
            for found in follow.findall(response.text):
                target = urljoin(url, found if isinstance(found, str) else next(f for f in found if f))
                queue.append(target)
        return sizes

    js = await weigh(scripts, IMPORT, JS_TYPES)
    assert {"/static/app.js", "/static/forms.js", "/static/outbox.js"} <= set(js), js
    assert sum(js.values()) <= JS_BUDGET, js
    css = await weigh(sheets, CSS_IMPORT, ("text/css",))
    assert sum(css.values()) <= CSS_BUDGET, css
