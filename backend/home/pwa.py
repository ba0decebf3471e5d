"""What makes the site an installable, offline app: the manifest, the service worker and the offline page.

The service worker is served from the root so that its scope is the whole site. Its cache name carries a hash of
every file it precaches, so any change to the app shell or the articles installs a new worker and the old caches are
deleted when it activates.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import ROOT, Settings
from backend.education.articles import ORDER
from backend.shared.i18n import best_language, translate
from backend.shared.rendering import page

PWA = ROOT / "pwa"
SHELL = [
    "/static/app.css",
    "/static/app.js",
    "/static/outbox.js",
    "/static/forms.js",
    "/static/push.js",
    "/static/icons/icon.svg",
    "/static/icons/icon-192.png",
    "/offline",
    "/learn",
    *[f"/learn/{slug}" for slug in ORDER],
]


@functools.cache
def _version() -> str:
    digest = hashlib.sha256()
    for folder in (PWA / "static", PWA / "education", PWA / "templates", PWA / "locale"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(PWA).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update((PWA / "sw.js").read_bytes())
    return digest.hexdigest()[:12]


@get("/sw.js", include_in_schema=False)
async def service_worker() -> Response[str]:
    source = (PWA / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__VERSION__", _version()).replace("__SHELL__", json.dumps(SHELL))
    # no-cache: the browser checks for a new worker on every visit (it never trusts a cached copy for long anyway)
    return Response(
        source, media_type="text/javascript", headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    )


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest(request: Request[Any, Any, Any]) -> Response[str]:
    language = best_language(request.headers.get("accept-language"))

    def t(text: str) -> str:
        return translate(language, text)

    body = {
        "name": t("Spasm diary"),
        "short_name": t("Spasm diary"),
        "description": t(
            "A spasm and cramp diary that works offline, with safety advice and follow-up from your care team."
        ),
        "lang": language,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": "/static/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
        "shortcuts": [
            {
                "name": t("Log a spasm"),
                "short_name": t("Log"),
                "url": "/log",
                "icons": [{"src": "/static/icons/icon-192.png", "sizes": "192x192"}],
            },
            {
                "name": t("Daily check-in"),
                "short_name": t("Check-in"),
                "url": "/check-in",
                "icons": [{"src": "/static/icons/icon-192.png", "sizes": "192x192"}],
            },
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@get("/offline", include_in_schema=False)
async def offline_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Template:
    return page(request, settings, "offline.html")


ROUTES: list[Any] = [service_worker, manifest, offline_page]
