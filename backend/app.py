"""The application factory: one function builds the whole service from its settings."""

from __future__ import annotations

import gc
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.compression import CompressionConfig
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.file_system import BaseLocalFileSystem
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy import func, select, text

from backend import logs
from backend.accounts.account_pages import ACCOUNT_PAGE_ROUTES
from backend.accounts.account_routes import ACCOUNT_SECURITY_ROUTES
from backend.accounts.dependencies import authenticate, confirm_caller, provide_principal
from backend.accounts.pages import SIGN_IN_PAGE_ROUTES
from backend.accounts.rights import RIGHTS_ROUTES
from backend.accounts.routes import ACCOUNT_ROUTES
from backend.care.links import LINK_ROUTES
from backend.care.routes import CARE_ROUTES
from backend.care.triage import TRIAGE_ROUTES
from backend.config import ROOT, Settings, load_settings
from backend.db import make_engine, make_sessionmaker
from backend.diary.routes import DIARY_ROUTES
from backend.diary.sync import SYNC_ROUTES
from backend.diary.writer import EpisodeWriter
from backend.education.routes import EDUCATION_ROUTES
from backend.flags.evaluator import Evaluator
from backend.flags.models import RuleFailure
from backend.flags.routes import FLAG_ROUTES
from backend.flags.sweeper import Sweeper
from backend.openapi import add_problem_responses
from backend.reminders.dispatcher import Dispatcher
from backend.reminders.routes import REMINDER_ROUTES
from backend.reports.routes import REPORT_ROUTES
from backend.shared import instants, limits
from backend.shared.csrf import SAFE_METHODS, check_csrf
from backend.shared.dependencies import provide_db, provide_settings
from backend.shared.headers import security_headers
from backend.shared.problems import FieldError, Problem, field_error_from_msgspec, handle_exception, invalid
from backend.web.pages import PAGE_ROUTES
from backend.web.patient_pages import PATIENT_PAGE_ROUTES
from backend.web.pwa import PWA_ROUTES

PWA = ROOT / "pwa"


async def check_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    """Runs before every handler, in this order: who is calling (401, then 403 for the wrong role), CSRF, the content
    type of API writes (415, ASVS 13.1.5), and the body's types. A stranger learns nothing about a route's body.
    An OPTIONS request is answered here, with every method of its path."""
    if request.method == "OPTIONS" and (allow := request.app.state.allow.get(id(request.route_handler))):
        return Response(None, status_code=204, headers={"Allow": allow})
    limits.current_quota.set(None)
    await authenticate(request)
    try:
        await check_csrf(request)
        if request.method not in SAFE_METHODS and request.scope["path"].startswith("/api/"):
            has_body = (
                request.headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in request.headers
            )
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if has_body and content_type != "application/json":
                raise Problem(
                    415, "Send the body as JSON with Content-Type: application/json.", code="unsupported-media-type"
                )
            await check_types_strictly(request)
    except (Problem, HTTPException):  # ours, or Litestar's own (a body over the size limit: 413)
        await confirm_caller(request)  # a handler that looks up its session later still answers 401/403 first
        raise
    return None


async def check_types_strictly(request: Request[Any, Any, Any]) -> None:
    """Litestar converts bodies leniently ("7" becomes 7, "false" becomes False); the API promises the types its
    schema states, so the body is first decoded strictly against the same Struct."""
    field = request.route_handler.parsed_data_field
    if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, msgspec.Struct):
        return
    body = await request.body()
    error: FieldError | None = None
    if not body:
        error = FieldError("body", "a JSON object is required")
    else:
        try:
            decoded = msgspec.json.decode(body, type=field.annotation, strict=True)
        except msgspec.ValidationError as exc:
            error = field_error_from_msgspec(str(exc))
        except msgspec.DecodeError as exc:
            raise Problem(400, f"The body is not valid JSON: {exc}", code="invalid-json") from exc
    if error is not None:
        raise Problem(400, f"The request has problems: {error.field}: {error.reason}", code="invalid-request",
                      errors=[error])  # fmt: skip
    if (outside := instants.out_of_range(decoded)) is not None:
        raise invalid([outside])


async def add_quota_headers(response: Response[Any]) -> Response[Any]:
    """RateLimit-Limit/Remaining/Reset on the answer of a request that counted against a limit (limits.hit)."""
    quota = limits.current_quota.get()
    if quota is not None:
        for name, value in quota.headers().items():
            response.headers.setdefault(name, value)
    return response


@get("/healthz", tags=["operations"], summary="Liveness: the process answers", cache_control=None)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["operations"], summary="Readiness: the database answers; rules that could not be checked")
async def readyz(state: State) -> dict[str, Any]:
    """Ready when the database answers. ``rules_unchecked`` counts, per rule, the patients for whom that rule
    failed at its last evaluation (the other rules ran): an operator's sign of a fault, not of unreadiness."""
    async with state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        failing = (await conn.execute(select(RuleFailure.rule_id, func.count()).group_by(RuleFailure.rule_id))).all()
    return {"status": "ready", "rules_unchecked": {rule_id: n for rule_id, n in failing}}


class StaticFolder(BaseLocalFileSystem):
    """The static files' folder, where a name that cannot be a file (a NUL byte, a name longer than the file system
    allows) is simply not there: Litestar lets those errors through as 500s, each with a traceback in the log."""

    async def info(self, path: Any, **kwargs: Any) -> Any:
        try:
            return await super().info(path, **kwargs)
        except FileNotFoundError:
            raise
        except (ValueError, OSError) as exc:
            raise FileNotFoundError(str(path)[:100]) from exc


def methods_by_options_handler(app: Litestar) -> dict[int, str]:
    """The Allow header each path's OPTIONS answer must carry. Litestar's own answer lists only some of a path's
    methods when they come from several handlers (an episode's GET, PUT and DELETE): the OPTIONS handler made for the
    first handler's route keeps that route's method list after the route is rebuilt with the others. Keyed by the
    OPTIONS handler, which check_request sees."""
    allow: dict[int, str] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "OPTIONS" in route.route_handler_map:
            handler, _ = route.route_handler_map["OPTIONS"]
            if handler.handler_name == "options_handler":
                allow[id(handler)] = ", ".join(sorted(route.methods))
    return allow


def settle_memory() -> None:
    """Moves everything made at start-up (routes, templates, catalogs, the ORM's registry: most of the process's
    objects) out of the garbage collector's sight. Without this, every full collection walks them all: a pause of
    50-100 ms that put the slowest 1% of episode writes at ~100 ms instead of ~25 ms under load (make bench)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = make_engine(settings)
    logs.configure(settings.log_format, settings.log_level)

    maker = make_sessionmaker(engine)
    sweeper = Sweeper(maker, settings.sweep_seconds)
    writer = EpisodeWriter(engine, settings)
    evaluator = Evaluator(maker, settings.flag_delay_seconds, busy=writer.busy)
    writer.orphaned = evaluator.schedule
    dispatcher = Dispatcher(maker, settings)

    async def dispose() -> None:
        await sweeper.stop()
        await dispatcher.stop()
        await writer.close()
        await evaluator.drain()
        await engine.dispose()

    app = Litestar(
        route_handlers=[
            *ACCOUNT_ROUTES,
            *ACCOUNT_SECURITY_ROUTES,
            *SIGN_IN_PAGE_ROUTES,
            *ACCOUNT_PAGE_ROUTES,
            *RIGHTS_ROUTES,
            *CARE_ROUTES,
            *LINK_ROUTES,
            *TRIAGE_ROUTES,
            *REPORT_ROUTES,
            *DIARY_ROUTES,
            *SYNC_ROUTES,
            *FLAG_ROUTES,
            *PAGE_ROUTES,
            *PATIENT_PAGE_ROUTES,
            *EDUCATION_ROUTES,
            *PWA_ROUTES,
            *REMINDER_ROUTES,
            healthz,
            readyz,
            create_static_files_router(
                path="/static",
                directories=[PWA / "static"],
                file_system=StaticFolder(),
                include_in_schema=False,
                cache_control=CacheControlHeader(no_cache=True),
            ),  # the worker versions them
        ],
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessionmaker": maker,
                "evaluator": evaluator,
                "dispatcher": dispatcher,
                "writer": writer,
            }
        ),
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "principal": Provide(provide_principal),
        },
        before_request=check_request,
        after_request=add_quota_headers,
        exception_handlers={Exception: handle_exception},
        template_config=TemplateConfig(directory=PWA / "templates", engine=JinjaTemplateEngine),
        openapi_config=None
        if settings.production
        else OpenAPIConfig(title="Spasm diary API", version="1.0.0", path="/schema"),
        request_max_body_size=settings.max_body_bytes,
        allowed_hosts=AllowedHostsConfig(allowed_hosts=list(settings.hosts)) if settings.hosts else None,
        response_cache_config=ResponseCacheConfig(),
        # Only the static files (and "/", as the pattern must not match every path) are compressed: pages carry CSRF
        # tokens next to what people typed, which compression would leak to a BREACH attacker.
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, exclude=r"^/(?!static/)."),
        on_startup=[sweeper.start, dispatcher.start, settle_memory],
        on_shutdown=[dispose],
        debug=False,
        logging_config=None,  # backend/logs.py configures logging; Litestar's own set-up would replace it
    )
    # Wrapping the whole ASGI handler (not just matched routes) puts the headers on the router's own 404 and 405 too.
    app.state.allow = methods_by_options_handler(app)
    app.asgi_handler = logs.access_log(security_headers(settings.secure_cookies)(app.asgi_handler))
    add_problem_responses(app)
    return app
