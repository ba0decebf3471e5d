"""The clinician's trend report for one patient: an HTML page with SVG charts, and the same as a PDF."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.care.models import AshworthGrade
from backend.config import ROOT, Settings
from backend.db import utcnow
from backend.diary.catalog import CONDITIONS
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.flags import lifecycle
from backend.flags.diaries import load_diary
from backend.flags.engine import RULE_SET_VERSION
from backend.flags.measures import psfs_band_from_log
from backend.flags.models import Flag
from backend.flags.routes import flag_histories, rule_failures
from backend.flags.rules.base import URGENCY_RANK
from backend.reports import charts, summary
from backend.shared.access import require_link
from backend.shared.dependencies import provide_clinician
from backend.shared.i18n import template_functions
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

# One page for the visit: smaller type, and the header bar and navigation left out.
PDF_CSS = """@page { size: A4; margin: 10mm }
body { font-size: 8.5pt; line-height: 1.3 } main { max-width: none; padding: 0 }
.bar, .no-print, .skip { display: none } h1 { font-size: 14pt; margin: 0 } h2 { font-size: 10pt; margin: 6pt 0 2pt }
.flag { padding: 2pt 4pt; margin: 2pt 0 } th, td { padding: 1pt 3pt } .chart { height: 90pt }
.calendar td { height: 16pt }"""
Days = Annotated[Literal[14, 28, 56, 90], Parameter(description="report period in days")]


async def report_context(db: AsyncSession, patient_id: uuid.UUID, days: int) -> dict[str, Any]:
    now = utcnow()
    diary, _ = await load_diary(db, patient_id, now, window_days=days + 28)
    user = await db.get(User, patient_id)
    profile = await db.get(PatientProfile, patient_id)
    first = diary.today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), dt.UTC)
    notes = [(e.started_at, e.note) for e in (await db.execute(
        select(Episode).where(Episode.patient_id == patient_id, Episode.deleted_at.is_(None), Episode.started_at >= start,
                              Episode.note.is_not(None)).order_by(Episode.started_at))).scalars() if e.note]  # fmt: skip
    notes += [(dt.datetime.combine(c.day, dt.time(), dt.UTC), c.note) for c in (await db.execute(
        select(CheckIn).where(CheckIn.patient_id == patient_id, CheckIn.day >= first, CheckIn.note.is_not(None))
    )).scalars() if c.note]  # fmt: skip
    report = summary.build(diary, days, sorted(notes))
    flags = (await db.execute(select(Flag).where(Flag.patient_id == patient_id))).scalars().all()
    shown = sorted([f for f in flags if f.status != "resolved" or (f.resolved_at and f.resolved_at.date() >= first)],
                   key=lambda f: (URGENCY_RANK[f.urgency], f.status == "resolved", -f.updated_at.timestamp()))  # fmt: skip
    histories, names = await flag_histories(db, patient_id, shown)
    earlier = {f.id: f for f in flags}
    first_week = f"{first.isocalendar().year}-W{first.isocalendar().week:02d}"
    penn = (await db.execute(select(PennRating).where(PennRating.patient_id == patient_id, PennRating.week >= first_week)
                             .order_by(PennRating.week))).scalars().all()  # fmt: skip
    plan_rows = (await db.execute(select(Regimen).where(Regimen.patient_id == patient_id, Regimen.deleted_at.is_(None))
                                  .order_by(Regimen.start_date))).scalars().all()  # fmt: skip
    ashworth = (await db.execute(select(AshworthGrade).where(AshworthGrade.patient_id == patient_id)
                                 .order_by(AshworthGrade.assessed_on.desc()).limit(12))).scalars().all()  # fmt: skip
    return {
        "patient": user, "profile": profile, "r": report, "flags": shown, "penn": penn, "plan_rows": plan_rows,
        "ashworth": ashworth, "one_day": dt.timedelta(days=1), "rule_set": RULE_SET_VERSION,
        "histories": histories, "names": names, "earlier": earlier, "unchecked": await rule_failures(db, patient_id),
        "conditions": ", ".join(CONDITIONS[c] for c in (profile.conditions if profile else [])),
        "psfs_from_log": psfs_band_from_log(diary),
        "daily_chart": charts.daily_chart(report.daily, report.daily_ma, report.plans, "Episodes per day"),
        "stiffness_chart": charts.nrs_chart(report.daily_stiffness, "Daily stiffness, 0-10, with 7-day average"),
        "weekly_chart": charts.bars([(w.strftime("%d %b"), n) for w, n in report.weekly], "Episodes per week"),
        "parts_chart": charts.bars(report.day_parts, "Episodes by part of the day"),
        "hours_chart": charts.bars([(f"{h:02d}", n) for h, n in enumerate(report.hours)], "Episodes by hour"),
    }  # fmt: skip


@get("/patients/{patient_id:uuid}/report", include_in_schema=False,
     dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def report_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID,
    days: Days = 28,
) -> Template:  # fmt: skip
    link = await require_link(request, db, clinician, patient_id, "view", "report.read")
    context = await report_context(db, patient_id, days)
    from backend.reminders.models import Appointment

    upcoming = list((await db.execute(select(Appointment).where(
        Appointment.patient_id == patient_id, Appointment.cancelled_at.is_(None), Appointment.starts_at > utcnow(),
    ).order_by(Appointment.starts_at))).scalars())  # fmt: skip
    return page(request, settings, "report.html", me=clinician, can_export="export" in link.scopes,
                can_annotate="annotate" in link.scopes, can_notify="notify" in link.scopes, appointments=upcoming,
                scheduled=request.query_params.get("scheduled") == "1", **context)  # fmt: skip


@get("/patients/{patient_id:uuid}/report.pdf", include_in_schema=False,
     dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def report_pdf(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, days: Days = 28
) -> Response[bytes]:
    import asyncio

    await require_link(request, db, clinician, patient_id, "export", "report.pdf")
    context = await report_context(db, patient_id, days)
    engine: Any = request.app.template_engine
    html = engine.get_template("report.html").render(
        csrf_token="", me=None, pdf=True, summary_only=True, **template_functions("en"), **context
    )

    def render() -> bytes:
        from weasyprint import CSS, HTML

        pdf: bytes = HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(ROOT / "pwa" / "static" / "app.css")),
                                                              CSS(string=PDF_CSS)])  # fmt: skip
        return pdf

    pdf = await asyncio.to_thread(render)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="spasm-report-{_slug(context["patient"].display_name)}-'
                               f'{dt.date.today().isoformat()}.pdf"',
        "Cache-Control": "no-store"})  # fmt: skip


@post("/patients/{patient_id:uuid}/flags/{flag_id:uuid}/{action:str}", include_in_schema=False, status_code=303,
      dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def flag_action_form(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, flag_id: uuid.UUID,
    action: str, data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),
) -> Response[Any]:  # fmt: skip
    """The report page's buttons: acknowledge a flag, or resolve it with a note."""
    if action not in {"acknowledge", "resolve"}:
        raise Problem(404, "Nothing lives at this address.", code="not-found")
    await require_link(request, db, clinician, patient_id, "annotate", f"flags.{action}")
    if action == "acknowledge":
        await lifecycle.acknowledge(db, clinician, patient_id, flag_id)
    else:
        await lifecycle.resolve(db, clinician, patient_id, flag_id, data.get("note", ""))
    return Redirect(f"/patients/{patient_id}/report#flags", status_code=303)


def _slug(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40] or "patient"


REPORT_ROUTES: list[Any] = [report_page, report_pdf, flag_action_form]
