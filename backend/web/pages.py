"""Browser pages: the page helper every area uses, and each role's home. Plain HTML forms, so they work without script
(signing in, registering and signing out are in backend/accounts/pages.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import needs_two_step
from backend.accounts.sessions import resolve
from backend.care.models import ReviewMark
from backend.care.triage import triage
from backend.config import Settings
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating
from backend.education.articles import flag_link
from backend.flags import lifecycle
from backend.flags.models import LIVE_STATUSES, Flag
from backend.flags.routes import _order
from backend.flags.wording import patient_words
from backend.reports.charts import bars
from backend.shared.access import require_link
from backend.shared.audit import audit_event
from backend.shared.dependencies import provide_clinician
from backend.shared.i18n import best_language
from backend.shared.principal import Principal, client_address, session_token_from
from backend.shared.rendering import page


async def _principal(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Principal | None:
    return await resolve(db, settings, session_token_from(request, settings))


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    principal = await _principal(request, db, settings)
    if principal is None:
        return Redirect("/sign-in")
    if needs_two_step(principal, settings):
        return Redirect("/account/two-step", status_code=303)
    if principal.is_clinician:
        return await clinician_home(request, db, settings, principal)
    return await patient_home(request, db, settings, principal)


async def viewer(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> tuple[Principal | None, str]:
    """Who is looking (if anyone) and the language to answer in: a patient's profile, else the browser's."""
    principal = await _principal(request, db, settings)
    if principal is not None and principal.is_patient:
        profile = await db.get(PatientProfile, principal.user_id)
        if profile is not None:
            return principal, profile.language
    return principal, best_language(request.headers.get("accept-language"))


async def patient_home(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal
) -> Template:
    from backend.web.patient_pages import _list_item, _profile, _today, _week_of, zone_of

    profile = await _profile(db, me)
    zone, lang = zone_of(profile), profile.language
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    recent = (
        (
            await db.execute(
                select(Episode)
                .where(Episode.patient_id == me.user_id, Episode.deleted_at.is_(None))
                .order_by(Episode.started_at.desc())
                .limit(10)
            )
        )
        .scalars()
        .all()
    )
    week_count = (
        await db.execute(
            select(func.count())
            .select_from(Episode)
            .where(Episode.patient_id == me.user_id, Episode.deleted_at.is_(None), Episode.started_at >= since)
        )
    ).scalar_one()
    today = _today(profile)
    days_logged = (
        await db.execute(
            select(func.count())
            .select_from(CheckIn)
            .where(CheckIn.patient_id == me.user_id, CheckIn.day > today - dt.timedelta(days=7))
        )
    ).scalar_one()
    flags = _order(list((await db.execute(
        select(Flag).where(Flag.patient_id == me.user_id, Flag.status.in_(LIVE_STATUSES))
    )).scalars()))  # fmt: skip
    checked_in_today = await db.get(CheckIn, (me.user_id, today)) is not None
    from backend.reminders.routes import inbox

    # The same reminders the inbox lists as due, not yet marked done.
    reminders_due = sum(1 for r in (await inbox(db, me.user_id, dt.datetime.now(dt.UTC))).due if not r.acknowledged)
    penn_due = await db.get(PennRating, (me.user_id, _week_of(today))) is None and today.isoweekday() >= 5
    unread = [f for f in flags if lifecycle.unread(f)]
    read = [f for f in flags if not lifecycle.unread(f)]
    return page(request, settings, "patient_home.html", language=lang, me=me, week_count=week_count, flags=unread,
                read_flags=read,
                recent=[_list_item(lang, e, zone) for e in recent], days_logged=days_logged,
                flag_links={f.rule_id: flag_link(f.rule_id) for f in flags}, checked_in_today=checked_in_today,
                flag_words={f.id: patient_words(f.rule_id, f.patient_message, lang) for f in flags},
                penn_due=penn_due, reminders_due=reminders_due)  # fmt: skip


async def clinician_home(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal
) -> Template:
    """The triage list: the patients who need attention first, with a small trend of the chosen period."""
    raw = request.query_params.get("days", "7")
    days = int(raw) if raw in {"7", "14", "30"} else 7
    rows = await triage(db, me.user_id, days, dt.datetime.now(dt.UTC))
    for row in rows:
        db.add(audit_event(me, "triage.read", patient_id=row.patient_id, address=client_address(request)))
    await db.commit()
    sparks = {}
    for row in rows:  # each patient's own local days
        labels = [(row.first_day + dt.timedelta(days=i)).strftime("%d") for i in range(days)]
        sparks[row.patient_id] = bars(
            list(zip(labels, row.daily_counts, strict=True)), f"Daily episodes, last {days} days"
        )
    return page(request, settings, "clinician_home.html", me=me, rows=rows, days=days, sparks=sparks)


@post("/patients/{patient_id:uuid}/reviewed", include_in_schema=False, status_code=303,
      dependencies={"clinician": Provide(provide_clinician)})  # fmt: skip
async def mark_reviewed_form(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[Any]:
    await require_link(request, db, clinician, patient_id, "view", "review.mark")
    db.add(ReviewMark(patient_id=patient_id, clinician_id=clinician.user_id, reviewed_at=dt.datetime.now(dt.UTC)))
    await db.commit()
    return Redirect("/", status_code=303)


PAGE_ROUTES = [home, mark_reviewed_form]
