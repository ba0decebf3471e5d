"""Each role's home: a patient's week at a glance with what needs reading or doing (here), a clinician's triage list
(clinician_pages.py); and the patient's "More" menu. Signing in, registering and signing out are in
backend/accounts/pages.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import utcnow
from backend.diary.display import list_item
from backend.diary.records import zone_of
from backend.diary.services import profile_row
from backend.education.articles import flag_link
from backend.flags.wording import patient_words
from backend.home import services
from backend.home.clinician_pages import clinician_home
from backend.shared.caller import session_token_from
from backend.shared.dependencies import needs_two_step, provide_patient
from backend.shared.principal import Principal
from backend.shared.rendering import page


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    principal = await request.app.state.resolve(db, settings, session_token_from(request, settings))
    if principal is None:
        return Redirect("/sign-in")
    if needs_two_step(principal, settings):
        return Redirect("/account/two-step", status_code=303)
    if principal.is_clinician:
        return await clinician_home(request, db, settings, principal)
    return await patient_home(request, db, settings, principal)


async def patient_home(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal
) -> Template:
    profile = await profile_row(db, me.user_id)
    zone, lang = zone_of(profile), profile.language
    week = await services.patient_week(db, me, profile, utcnow())
    flags = [*week.unread, *week.read]
    words = {f.id: patient_words(f.rule_id, f.patient_message, lang) for f in flags}
    return page(
        request,
        settings,
        "patient_home.html",
        language=lang,
        me=me,
        week_count=week.week_count,
        flags=week.unread,
        read_flags=week.read,
        recent=[list_item(lang, e, zone) for e in week.recent],
        days_logged=week.days_logged,
        flag_links={f.rule_id: flag_link(f.rule_id) for f in flags},
        checked_in_today=week.checked_in_today,
        flag_words=words,
        flag_titles={key: first_sentence(text)[0] for key, text in words.items()},
        flag_rests={key: first_sentence(text)[1] for key, text in words.items()},
        today=utcnow().astimezone(zone).date(),
        penn_due=week.penn_due,
        reminders_due=week.reminders_due,
    )


def first_sentence(text: str) -> tuple[str, str]:
    """What a folded piece of advice shows, its first sentence, and what opens under it."""
    head, dot, rest = text.partition(". ")
    return (head + ".", rest) if dot else (text, "")


@get("/more", include_in_schema=False, dependencies={"patient": Provide(provide_patient)})
async def more_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await profile_row(db, patient.user_id)
    return page(request, settings, "patient/more.html", language=profile.language, me=patient)


ROUTES: list[Any] = [home, more_page]
