"""The patient's trends: episodes, their strength and stiffness day by day over 14, 30 or 90 days, this period against
the one before in words, what seemed to set them off, and how much each thing the patient did helped.

Reading only: the entries come from the same records as the JSON API, counted on the patient's local days. A day with
no entry at all (no episode, no check-in) is not known, so it is a gap in the charts, never a zero; a check-in's "no
spasms today" is a true zero. Relief is counted per treatment from that treatment's own answer, as the words the
patient chose (not averaged as numbers).
"""

from __future__ import annotations

import datetime as dt
import statistics
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
from backend.shared import formats
from backend.shared.charts import day_bars, day_line
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import N_, translate
from backend.shared.principal import Principal
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
PERIODS = {"14": 14, "30": 30, "90": 90}
CHARTS_AFTER_DAYS = 3  # the charts need a few days of entries to show anything
# The words of the episode form's relief question (diary/pages.py RELIEF), each relief value read as the nearest.
RELIEF_WORDS = ((0, N_("Not at all")), (3, N_("A little")), (7, N_("A lot")), (10, N_("It went away")))
NOT_SAID = N_("not said")


def relief_word(value: int) -> int:
    return min(RELIEF_WORDS, key=lambda w: abs(w[0] - value))[0]


def relief_by_treatment(rows: list[Any], lang: str) -> list[dict[str, Any]]:
    """Each thing the patient did: how often, and how many times each answer about relief was given for it."""
    times: Counter[str] = Counter()
    answers: dict[str, Counter[int | None]] = defaultdict(Counter)
    for e in rows:
        for t in e.treatments or []:
            times[t["kind"]] += 1
            relief = t.get("relief")
            answers[t["kind"]][relief_word(relief) if relief is not None else None] += 1
    found = []
    for kind, n in times.most_common(8):
        counted = [(translate(lang, word), answers[kind][value]) for value, word in RELIEF_WORDS]
        found.append(
            {
                "label": translate(lang, catalog.TREATMENTS.get(kind, kind)),
                "times": n,
                "answers": [(word, k) for word, k in counted if k],
                "not_said": answers[kind][None],
            }
        )
    return found


@get("/trends", include_in_schema=False, dependencies=PATIENT)
async def trends_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    zone, lang = zone_of(profile), profile.language
    days = PERIODS.get(request.query_params.get("days", "30"), 30)
    today = today_of(profile)
    first = today - dt.timedelta(days=days - 1)
    before_first = first - dt.timedelta(days=days)
    start = dt.datetime.combine(before_first, dt.time(), zone)
    everything = (
        await db.execute(
            select(Episode).where(
                Episode.patient_id == patient.user_id, Episode.deleted_at.is_(None), Episode.started_at >= start
            )
        )
    ).scalars()
    local = [(e.started_at.astimezone(zone).date(), e) for e in everything]
    rows = [e for d, e in local if first <= d <= today]
    earlier = [e for d, e in local if before_first <= d < first]
    checkins = {
        c.day: c
        for c in (
            await db.execute(select(CheckIn).where(CheckIn.patient_id == patient.user_id, CheckIn.day >= before_first))
        ).scalars()
    }
    per_day: dict[dt.date, list[int]] = defaultdict(list)
    for d, e in local:
        per_day[d].append(e.intensity)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    labels = [formats.day(d, lang, year=False) for d in dates]
    logged = [d for d in dates if d in per_day or d in checkins]
    logged_before = [
        d for d in (before_first + dt.timedelta(days=i) for i in range(days)) if d in per_day or d in checkins
    ]

    def number(value: float) -> str:
        return formats.number(value, lang, 0 if float(value).is_integer() else 1)

    counts = [len(per_day[d]) if d in per_day else 0 if d in checkins else None for d in dates]
    strength = [statistics.mean(per_day[d]) if d in per_day else None for d in dates]
    stiffness = [c.stiffness if (c := checkins.get(d)) is not None else None for d in dates]
    missing = translate(lang, "no entry")
    charts = {
        "count": day_bars(counts, labels, translate(lang, "Episodes each day"), number=number, missing=missing),
        "strength": day_line(strength, labels, translate(lang, "Average strength each day (0-10)"), number=number),
        "stiffness": day_line(stiffness, labels, translate(lang, "Stiffness each day (0-10)"), number=number),
    }
    trigger_counts = Counter(t for e in rows for t in (e.triggers or []))
    mean_now = statistics.mean(e.intensity for e in rows) if rows else None
    mean_before = statistics.mean(e.intensity for e in earlier) if earlier else None
    return page(
        request,
        settings,
        "patient/trends.html",
        language=lang,
        me=patient,
        days=days,
        charts=charts,
        new_user=len(logged) < CHARTS_AFTER_DAYS,
        logged_days=len(logged),
        charts_after=CHARTS_AFTER_DAYS,
        episodes_now=len(rows),
        episodes_before=len(earlier) if logged_before else None,
        strength_now=mean_now,
        strength_before=mean_before,
        stiffness_days=sum(1 for s in stiffness if s is not None),
        triggers=[(translate(lang, catalog.TRIGGERS[t]), n) for t, n in trigger_counts.most_common(8)],
        helped=relief_by_treatment(rows, lang),
        not_said=translate(lang, NOT_SAID),
    )


ROUTES: list[Any] = [trends_page]
