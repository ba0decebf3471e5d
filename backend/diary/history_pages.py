"""The patient's own diary by day.

Reading only: the entries come from the same records as the JSON API, shown in the patient's local days and language.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from litestar import Request, get
from litestar.di import Provide
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.diary import services
from backend.diary.display import list_item
from backend.diary.models import CheckIn, Episode
from backend.diary.pages import today as today_of
from backend.diary.records import zone_of
from backend.shared import formats
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import translate
from backend.shared.principal import Principal
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}


@get("/history", include_in_schema=False, dependencies=PATIENT)
async def history_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    zone, lang = zone_of(profile), profile.language
    try:
        before = dt.date.fromisoformat(request.query_params.get("before", ""))
    except ValueError:
        before = today_of(profile) + dt.timedelta(days=1)
    if not dt.date(1900, 1, 1) <= before <= today_of(profile) + dt.timedelta(days=1):  # keeps date arithmetic in range
        before = today_of(profile) + dt.timedelta(days=1)
    first = before - dt.timedelta(days=14)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(before, dt.time(), zone)
    rows = (
        (
            await db.execute(
                select(Episode)
                .where(
                    Episode.patient_id == patient.user_id,
                    Episode.deleted_at.is_(None),
                    Episode.started_at >= start,
                    Episode.started_at < end,
                )
                .order_by(Episode.started_at.desc())
            )
        )
        .scalars()
        .all()
    )
    checkins = {
        c.day: c
        for c in (
            await db.execute(
                select(CheckIn).where(CheckIn.patient_id == patient.user_id, CheckIn.day >= first, CheckIn.day < before)
            )
        ).scalars()
    }
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for e in rows:
        by_day[e.started_at.astimezone(zone).date()].append(list_item(lang, e, zone))
    # Every day of the fortnight, with or without entries: a day without a check-in offers to fill it in.
    today = today_of(profile)
    days = []
    for offset in range(1, 15):
        day = before - dt.timedelta(days=offset)
        if day > today:
            continue
        c = checkins.get(day)
        summary = None
        if c is not None:
            bits = [
                translate(lang, "no episodes") if c.no_episodes else None,
                translate(lang, "stiffness %(n)s/10") % {"n": formats.number(c.stiffness, lang, 0)}
                if c.stiffness is not None
                else None,
            ]
            summary = ", ".join(b for b in bits if b) or translate(lang, "done")
        days.append(
            {
                "date": day,
                "label": formats.relative_day(day, today, lang),
                "episodes": by_day.get(day, []),
                "checkin": summary,
            }
        )
    later = before + dt.timedelta(days=14)
    return page(
        request,
        settings,
        "patient/history.html",
        language=lang,
        me=patient,
        days=days,
        earlier=first,
        later=later if later <= today_of(profile) + dt.timedelta(days=1) else None,
        deleted=request.query_params.get("deleted") == "1",
    )


ROUTES: list[Any] = [history_page]
