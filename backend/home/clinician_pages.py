"""The clinician's home: a field for a patient's sharing code (and the clinician's own code for a patient to accept),
then the triage list of the patients who shared their diary, those who need attention first.

Every figure of the list is said against the one window chosen at the top, in words (backend/reports/wording.py);
the list sorts by links, so it works without script. The forms post to backend/care/pages.py, which comes back here
with what happened in the query (``?linked=``, ``?code=``, ``?undone=``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.care.schemas import TriageRow
from backend.care.triage import audited_triage, latest_marks, top_rules, zones_of
from backend.config import Settings
from backend.db import utcnow
from backend.reports import wording
from backend.reports.charts import sparkline
from backend.shared.caller import client_address
from backend.shared.formats import Formats
from backend.shared.i18n import N_, best_language, translate
from backend.shared.principal import Principal
from backend.shared.rendering import page

PERIODS = {"7": 7, "14": 14, "30": 30}
SORTS = {
    "attention": N_("Needs attention"),
    "name": N_("Patient"),
    "change": N_("Episodes against the 4 weeks before"),
    "logged": N_("Diary days"),
    "reviewed": N_("Reviewed"),
}
# What a code that did not work says (services.redeem's problems, by their code), in the page's language.
CODE_MESSAGES = {
    "invalid-code": N_(
        "This code is not valid: it may be mistyped, used already, or older than 7 days. Ask the patient for a new one."
    ),
    "code-used": N_("This code was just used. Ask the patient for a new one."),
    "too-many-requests": N_("Too many codes tried in the last hour. Wait a while, then try again."),
    "empty": N_("Type the patient's code first."),
}


def _ratio(row: TriageRow) -> float:
    if not row.baseline_per_week:
        return float("inf") if row.episodes_per_week else 0.0
    return row.episodes_per_week / row.baseline_per_week


def _sorted(rows: list[TriageRow], sort: str, marks: dict[uuid.UUID, Any]) -> list[TriageRow]:
    """The service's order (most urgent, most recent) unless the clinician asked for another."""
    if sort == "name":
        return sorted(rows, key=lambda r: r.name.casefold())
    if sort == "change":
        return sorted(rows, key=lambda r: -_ratio(r))
    if sort == "logged":
        return sorted(rows, key=lambda r: r.days_logged)
    if sort == "reviewed":  # never reviewed first, then the longest ago
        return sorted(rows, key=lambda r: marks[r.patient_id].at.timestamp() if r.patient_id in marks else 0)
    return rows


async def clinician_home(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal
) -> Template:
    """The triage list: the patients who need attention first, every figure against the chosen window."""
    days = PERIODS.get(request.query_params.get("days", "7"), 7)
    sort = request.query_params.get("sort", "attention")
    sort = sort if sort in SORTS else "attention"
    language = best_language(request.headers.get("accept-language"))
    fmt = Formats(language)
    rows = await audited_triage(db, me, days, utcnow(), address=client_address(request))
    ids = [r.patient_id for r in rows]
    marks = await latest_marks(db, me.user_id, ids)
    zones = await zones_of(db, ids)
    rules = await top_rules(db, ids)
    shown = []
    for row in _sorted(rows, sort, marks):
        zone = zones[row.patient_id]
        count = sum(row.daily_counts)
        more = sum(row.open_flags.values()) - 1 if row.top_flag else 0
        mark = marks.get(row.patient_id)
        title = translate(language, N_("Episodes each day, %(first)s to %(last)s")) % {
            "first": fmt.day(row.first_day),
            "last": fmt.day(row.last_day),
        }
        shown.append(
            {
                "id": row.patient_id,
                "name": row.name,
                "urgency": row.top_urgency,
                "attention": wording.attention_words(
                    row.top_urgency, row.top_flag, more, language, rules.get(row.patient_id)
                ),
                "unchecked": row.unchecked_rules,
                "figure": wording.triage_figure(count, days, row.baseline_per_week, language),
                "direction": wording.change(count * 7 / days, row.baseline_per_week).direction,
                "logged": wording.days_logged_words(row.days_logged, days, language),
                "spark": sparkline(
                    row.daily_counts, fmt.day(row.first_day, year=False), fmt.day(row.last_day, year=False), title
                ),
                "reviewed": None
                if mark is None
                else translate(language, N_("Reviewed by %(who)s on %(when)s"))
                % {
                    "who": mark.by,
                    "when": fmt.moment_in_zone(mark.at, zone),
                },
                "undo": mark is not None and mark.mine_to_undo,
            }
        )
    linked = request.query_params.get("linked")
    linked_row = next((r for r in shown if str(r["id"]) == linked), None)
    code_problem = request.query_params.get("code")
    return page(
        request,
        settings,
        "clinician_home.html",
        language=language,
        me=me,
        rows=shown,
        days=days,
        sort=sort,
        sorts=SORTS,
        linked=linked_row,
        code_error=translate(language, CODE_MESSAGES[code_problem]) if code_problem in CODE_MESSAGES else None,
        undone=request.query_params.get("undone") == "1",
        reviewed=request.query_params.get("reviewed") == "1",
    )
