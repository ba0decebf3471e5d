"""The patient's trends: counts, stiffness, triggers and what helped over 14, 30 or 90 days.

Reading only: the entries come from the same records as the JSON API, shown in the patient's local days and language.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from litestar import Request, get
from litestar.di import Provide
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.diary import catalog, services
from backend.diary.models import CheckIn, Episode
from backend.diary.pages import today as today_of
from backend.diary.records import zone_of
from backend.shared.charts import bars
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import translate
from backend.shared.principal import Principal
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}


@get("/trends", include_in_schema=False, dependencies=PATIENT)
async def trends_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    zone, lang = zone_of(profile), profile.language
    raw = request.query_params.get("days", "30")
    days = int(raw) if raw in {"14", "30", "90"} else 30
    today = today_of(profile)
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), zone)
    rows = (
        (
            await db.execute(
                select(Episode).where(
                    Episode.patient_id == patient.user_id, Episode.deleted_at.is_(None), Episode.started_at >= start
                )
            )
        )
        .scalars()
        .all()
    )
    checkins = {
        c.day: c
        for c in (
            await db.execute(select(CheckIn).where(CheckIn.patient_id == patient.user_id, CheckIn.day >= first))
        ).scalars()
    }
    per_day = Counter(e.started_at.astimezone(zone).date() for e in rows)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    labels = [d.strftime("%d/%m") for d in dates]
    count_chart = bars(
        list(zip(labels, [per_day.get(d, 0) for d in dates], strict=True)), translate(lang, "Episodes each day")
    )
    stiffness = [c.stiffness if (c := checkins.get(d)) is not None and c.stiffness is not None else 0 for d in dates]
    stiffness_chart = bars(list(zip(labels, stiffness, strict=True)), translate(lang, "Stiffness each day (0-10)"))
    trigger_counts = Counter(t for e in rows for t in (e.triggers or []))
    triggers = [(translate(lang, catalog.TRIGGERS[t]), n) for t, n in trigger_counts.most_common(8)]
    used: dict[str, list[int]] = defaultdict(list)
    times: Counter[str] = Counter()
    for e in rows:
        for t in e.treatments or []:
            times[t["kind"]] += 1
            if t.get("relief") is not None:
                used[t["kind"]].append(t["relief"])
    helped = [
        (translate(lang, catalog.TREATMENTS[k]), n, round(sum(used[k]) / len(used[k]), 1) if used[k] else None)
        for k, n in times.most_common(8)
    ]
    return page(
        request,
        settings,
        "patient/trends.html",
        language=lang,
        me=patient,
        days=days,
        count_chart=count_chart,
        stiffness_chart=stiffness_chart,
        per_week=len(rows) * 7 / days,
        triggers=triggers,
        helped=helped,
    )


ROUTES: list[Any] = [trends_page]
