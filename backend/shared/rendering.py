"""Pages: a template with the form token, the person's language and the headers every page needs."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Template

from backend.config import Settings
from backend.shared.csrf import anonymous_cookie, csrf_token_for, expected_token, new_anonymous_token
from backend.shared.formats import Formats
from backend.shared.i18n import best_language, template_functions

NO_STORE = {"Cache-Control": "no-store"}


def _csrf(request: Request[Any, Any, Any], settings: Settings) -> tuple[str, list[Cookie]]:
    """The CSRF token to embed in a form, setting the anonymous cookie it is tied to when there is none yet."""
    token = expected_token(request, settings)
    if token:
        return token, []
    anon = new_anonymous_token()
    return csrf_token_for(settings, anon), [anonymous_cookie(settings, anon)]


def page(
    request: Request[Any, Any, Any],
    settings: Settings,
    name: str,
    status: int = 200,
    language: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    token, cookies = _csrf(request, settings)
    language = language or best_language(request.headers.get("accept-language"))
    words = template_functions(language)
    me = context.get("me")
    # The service worker keeps an offline copy only of a patient's own pages and public ones, never a clinician's.
    offline = {"X-Offline-Copy": "keep"} if me is None or me.is_patient else {}
    return Template(
        template_name=name,
        context={"csrf_token": token, "fmt": Formats(language), **words, **context},
        status_code=status,
        headers={**NO_STORE, **offline, **(headers or {})},
        cookies=cookies,
    )


def render_error_page(request: Request[Any, Any, Any], body: dict[str, Any], headers: dict[str, str]) -> Response[Any]:
    # No form on an error page; and never Litestar's own helper.
    context = {
        "problem": body,
        "csrf_token": "",
        **template_functions(best_language(request.headers.get("accept-language"))),
    }
    return Template(template_name="error.html", context=context, status_code=body["status"], headers=headers)
