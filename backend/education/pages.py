"""The educational pages: open to everyone, signed in or not, and kept by the service worker for offline reading."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.education.articles import article, articles
from backend.shared.dependencies import viewer
from backend.shared.problems import not_found
from backend.shared.rendering import page


@get("/learn", include_in_schema=False)
async def learn_index(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Template:
    me, language = await viewer(request, db, settings)
    return page(request, settings, "education/index.html", language=language, me=me, articles=articles(language))


@get("/learn/{slug:str}", include_in_schema=False)
async def learn_article(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, slug: str) -> Template:
    me, language = await viewer(request, db, settings)
    found = article(slug, language)
    if found is None:
        raise not_found("article")
    return page(request, settings, "education/article.html", language=language, me=me, article=found)


ROUTES: list[Any] = [learn_index, learn_article]
