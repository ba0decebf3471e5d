"""The clinician's trend report for one patient: an HTML page with SVG charts, and the same as a PDF."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import ROOT, Settings
from backend.reports import evidence_pages, services
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.checks import known_time_zone
from backend.shared.dependencies import provide_clinician
from backend.shared.formats import Formats
from backend.shared.i18n import best_language, template_functions
from backend.shared.principal import Principal
from backend.shared.rendering import page

# One page for the visit: smaller type, and the header bar and navigation left out.
PDF_CSS = """@page { size: A4; margin: 9mm 10mm }
body { font-size: 8pt; line-height: 1.25 } main { max-width: none; padding: 0 }
.bar, .no-print, .skip { display: none } h1 { font-size: 13pt; margin: 0 } h2 { font-size: 9.5pt; margin: 5pt 0 1pt }
p { margin: 2pt 0 } ul { margin: 1pt 0 } .flag { padding: 1pt 4pt; margin: 1pt 0 } th, td { padding: 0.5pt 3pt }
.chart { height: 54pt } .numbers th { width: 25% }
.calendar td { height: 15pt; padding: 0 2pt } .calendar th { padding: 0 2pt }
.calendar .count { font-size: 9.5pt; font-weight: 700; display: block; text-align: center; line-height: 1 }
.calendar .date { font-size: 5.5pt; color: #555; line-height: 1 } .calendar td.outside { background: #f3f3f3 }
.calendar.long td { height: 9.5pt } .calendar.long .count { display: inline; font-size: 8pt; margin-left: 3pt }
.methods { font-size: 6.5pt; line-height: 1.2 } .methods h2 { font-size: 7.5pt; margin: 3pt 0 0 }"""
Days = Annotated[Literal[14, 28, 56, 90], Parameter(description="report period in days")]


@get(
    "/patients/{patient_id:uuid}/report",
    include_in_schema=False,
    dependencies={"clinician": Provide(provide_clinician)},
)
async def report_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    patient_id: uuid.UUID,
    days: Days = 28,
) -> Template:
    link = await require_link(db, clinician, patient_id, "view", "report.read", address=client_address(request))
    language = best_language(request.headers.get("accept-language"))
    context = await services.report_context(db, patient_id, days, language)
    upcoming = await services.upcoming_appointments(db, patient_id)
    # The clinician's own zone, where they name one and it differs from the patient's: the service keeps none for
    # clinicians, so the page asks (a plain GET field) and shows follow-ups on both clocks.
    typed_zone = (request.query_params.get("my_zone") or "").strip()[:64]
    my_zone = ZoneInfo(typed_zone) if typed_zone and known_time_zone(typed_zone) else None
    if my_zone is not None and my_zone.key == context["zone"].key:
        my_zone = None
    return page(
        request,
        settings,
        "report.html",
        language=language,
        me=clinician,
        can_export="export" in link.scopes,
        can_annotate="annotate" in link.scopes,
        can_notify="notify" in link.scopes,
        appointments=upcoming,
        scheduled=request.query_params.get("scheduled") == "1",
        my_zone=my_zone,
        typed_zone=typed_zone,
        zone_unknown=bool(typed_zone) and my_zone is None and typed_zone != context["zone"].key,
        **context,
    )


@get(
    "/patients/{patient_id:uuid}/report.pdf",
    include_in_schema=False,
    dependencies={"clinician": Provide(provide_clinician)},
)
async def report_pdf(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID, days: Days = 28
) -> Response[bytes]:
    await require_link(db, clinician, patient_id, "export", "report.pdf", address=client_address(request))
    language = best_language(request.headers.get("accept-language"))
    context = await services.report_context(db, patient_id, days, language)
    engine: Any = request.app.template_engine
    html = engine.get_template("report.html").render(
        csrf_token="",
        me=None,
        pdf=True,
        summary_only=True,
        fmt=Formats(language),
        **template_functions(language),
        **context,
    )

    def render() -> bytes:
        from weasyprint import CSS, HTML  # a heavy library, loaded with the first PDF rather than at start-up

        pdf: bytes = HTML(string=html).write_pdf(
            stylesheets=[CSS(filename=str(ROOT / "pwa" / "static" / "app.css")), CSS(string=PDF_CSS)]
        )
        return pdf

    pdf = await asyncio.to_thread(render)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="spasm-report-{_slug(context["patient"].display_name)}-'
            f'{dt.date.today().isoformat()}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _slug(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40] or "patient"


ROUTES: list[Any] = [report_page, report_pdf, *evidence_pages.ROUTES]
