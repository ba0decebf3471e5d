"""The application factory: one function builds the whole service from its settings."""

from __future__ import annotations

import gc
from typing import Any

from litestar import Litestar, get
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.compression import CompressionConfig
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.file_system import BaseLocalFileSystem
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy import func, select, text

from backend import logs
from backend.accounts import account_pages
from backend.accounts import api as accounts_api
from backend.accounts import pages as accounts_pages
from backend.accounts.sessions import resolve, resolve_many
from backend.care import api as care_api
from backend.care import pages as care_pages
from backend.config import ROOT, Settings, load_settings
from backend.db import make_engine, make_sessionmaker
from backend.diary import api as diary_api
from backend.diary import checkin_pages, history_pages, plan_pages, trends_pages
from backend.diary import pages as diary_pages
from backend.diary.services import Writes
from backend.diary.writer import EpisodeWriter
from backend.education import pages as education_pages
from backend.flags import api as flags_api
from backend.flags import clinician_pages as flags_clinician_pages
from backend.flags import pages as flags_pages
from backend.flags.evaluator import Evaluator
from backend.flags.models import RuleFailure
from backend.flags.safety import FlagSafety, WriteScreen
from backend.flags.sweeper import Sweeper
from backend.home import pages as home_pages
from backend.home import pwa
from backend.openapi import add_problem_responses
from backend.reminders import api as reminders_api
from backend.reminders import clinician_pages as reminders_clinician_pages
from backend.reminders import pages as reminders_pages
from backend.reminders.dispatcher import Dispatcher
from backend.reminders.queue import plan_patient
from backend.reports import pages as reports_pages
from backend.shared.dependencies import provide_db, provide_principal, provide_settings
from backend.shared.errors import handle_exception
from backend.shared.guards import add_quota_headers, check_request
from backend.shared.headers import security_headers

PWA = ROOT / "pwa"
# Every area's JSON routes and pages; each module lists its own (a ROUTES list at its end).
ROUTES: list[Any] = [
    route
    for module in (
        accounts_api,
        accounts_pages,
        account_pages,
        diary_api,
        diary_pages,
        checkin_pages,
        history_pages,
        plan_pages,
        trends_pages,
        flags_api,
        flags_pages,
        flags_clinician_pages,
        care_api,
        care_pages,
        reminders_api,
        reminders_pages,
        reminders_clinician_pages,
        reports_pages,
        education_pages,
        home_pages,
        pwa,
    )
    for route in module.ROUTES
]


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


def provide_writes(state: State) -> Writes:
    return state.writes  # type: ignore[no-any-return]


def provide_safety(state: State) -> FlagSafety:
    return state.safety  # type: ignore[no-any-return]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = make_engine(settings)
    logs.configure(settings.log_format, settings.log_level)

    maker = make_sessionmaker(engine)
    sweeper = Sweeper(maker, settings.sweep_seconds)
    writer = EpisodeWriter(engine, settings, resolve=resolve_many, screen=WriteScreen())
    evaluator = Evaluator(maker, settings.flag_delay_seconds, busy=writer.busy, then=plan_patient)
    writer.orphaned = evaluator.schedule
    safety = FlagSafety(evaluator)
    writes = Writes(settings, writer, safety, maker)
    dispatcher = Dispatcher(maker, settings)

    async def dispose() -> None:
        await sweeper.stop()
        await dispatcher.stop()
        await writer.close()
        await evaluator.drain()
        await engine.dispose()

    app = Litestar(
        route_handlers=[
            *ROUTES,
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
                "writes": writes,
                "safety": safety,
                # Who a session cookie belongs to: the accounts area answers for the shared layer (dependencies.py).
                "resolve": resolve,
            }
        ),
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "writes": Provide(provide_writes, sync_to_thread=False),
            "safety": Provide(provide_safety, sync_to_thread=False),
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
