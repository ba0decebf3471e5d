"""Sharing on the patient's pages (a code for a clinician, a clinician's code accepted, stop sharing, who looked) and
the clinician's "mark reviewed" button. Plain forms calling the same services as the JSON API."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.care import ashworth_pages, services, triage
from backend.config import Settings
from backend.diary.records import zone_of
from backend.diary.services import profile_row
from backend.shared import forms
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician, provide_patient
from backend.shared.i18n import N_, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
OPTIONAL_SCOPES = ("annotate", "notify", "export")
# What the services answer in the cases these pages meet, so that a Spanish page says it in Spanish.
PROBLEM_DETAILS = (
    N_(
        "This code is not valid: it may be mistyped, used already, or older than 7 days. Ask your clinician for a new one."
    ),
)
# What a clinician did, in words (audit actions are "<area>.<verb>": report.read, flags.resolve, export.csv...).
ACTIONS = {
    "report": N_("Opened your report"),
    "flags": N_("Looked at or acted on your flags"),
    "export": N_("Exported your diary"),
    "triage": N_("Saw you in their patient list"),
    "measures": N_("Looked at your numbers"),
    "review": N_("Marked your diary reviewed"),
    "appointment": N_("Scheduled or changed a follow-up"),
    "ashworth": N_("Recorded a muscle tone grade"),
    "thresholds": N_("Adjusted your follow-up rules"),
    "care-link": N_("Linked to your diary"),
}
LOOKED = N_("Looked at your diary")


def _scopes(form: Any) -> list[str]:
    return ["view", *[s for s in OPTIONAL_SCOPES if s in form.getall("scopes", [])]]


async def _sharing_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    me: Principal,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    profile = await profile_row(db, me.user_id)
    lang = profile.language
    scope_words = {
        "view": translate(lang, "see"),
        "annotate": translate(lang, "notes"),
        "notify": translate(lang, "reminders"),
        "export": translate(lang, "export"),
    }
    links = [
        {
            "id": link.id,
            "name": link.clinician_name or translate(lang, "a clinician"),
            "scopes": ", ".join(scope_words.get(s, s) for s in link.scopes),
        }
        for link in await services.links(db, me)
        if link.status == "active"
    ]
    return page(request, settings, "patient/sharing.html", status=status, language=lang, me=me, links=links, **extra)


@get("/sharing", include_in_schema=False, dependencies=PATIENT)
async def sharing_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    return await _sharing_page(request, db, settings, patient)


@post("/sharing/code", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_code_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    form = await request.form()
    made = await services.invite(db, settings, patient, _scopes(form), address=client_address(request))
    qr = "data:image/svg+xml;base64," + base64.b64encode(made.qr_svg.encode()).decode()
    profile = await profile_row(db, patient.user_id)
    expires = made.expires_at.astimezone(zone_of(profile)).strftime("%d/%m/%Y %H:%M")
    code = {"code": made.code, "qr": qr, "expires": expires}
    return await _sharing_page(request, db, settings, patient, code=code)


@post("/sharing/accept", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_accept_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    form = await request.form()
    code = forms.text(form, "code")
    profile = await profile_row(db, patient.user_id)
    try:
        if not code:
            raise Problem(422, translate(profile.language, "Type the code first."), code="validation-failed")
        address = client_address(request)
        await services.accept(db, settings, patient, code[:40], _scopes(form), address=address)
    except Problem as problem:
        await db.rollback()
        profile = await profile_row(db, patient.user_id)  # the rollback expired it
        errors = forms.messages(problem, profile.language, {})
        return await _sharing_page(request, db, settings, patient, status=problem.status_code, errors=errors)
    message = translate(profile.language, "Done: your clinician can now see your diary.")
    return await _sharing_page(request, db, settings, patient, message=message)


@post("/sharing/{link_id:uuid}/revoke", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_revoke_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal, link_id: uuid.UUID
) -> Template:
    await services.revoke(db, patient, link_id, address=client_address(request))
    profile = await profile_row(db, patient.user_id)
    message = translate(profile.language, "Sharing stopped. They can no longer see your diary.")
    return await _sharing_page(request, db, settings, patient, message=message)


@get("/sharing/history", include_in_schema=False, dependencies=PATIENT)
async def access_history_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await profile_row(db, patient.user_id)
    zone, lang = zone_of(profile), profile.language
    events = [
        {
            "at": e.at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "who": e.who,
            "action": translate(lang, ACTIONS.get(e.action.split(".")[0], LOOKED)),
        }
        for e in await services.access_history(db, patient.user_id, 200)
    ]
    return page(request, settings, "patient/access_history.html", language=lang, me=patient, events=events)


CLINICIAN = {"clinician": Provide(provide_clinician)}
UTC = ZoneInfo("UTC")  # a clinician has no time zone of their own in the service


@post("/clinician/redeem", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def redeem_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal
) -> Response[Any]:
    """The home page's field for a patient's sharing code: linked, the list opens with the patient named."""
    form = await request.form()
    code = forms.text(form, "code")
    if not code:
        return Redirect("/?code=empty", status_code=303)
    try:
        link = await services.redeem(db, settings, clinician, code[:40], address=client_address(request))
    except Problem as problem:
        await db.rollback()
        return Redirect(f"/?code={problem.code}", status_code=303)
    return Redirect(f"/?linked={link.patient_id}", status_code=303)


@post("/clinician/offer", include_in_schema=False, status_code=200, dependencies=CLINICIAN)
async def offer_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal
) -> Template:
    """The clinician's own one-time code, shown once (it is stored only as a hash), for a patient to accept."""
    made = await services.offer(db, settings, clinician, address=client_address(request))
    qr = "data:image/svg+xml;base64," + base64.b64encode(made.qr_svg.encode()).decode()
    return page(
        request, settings, "clinician/offer.html", me=clinician, code=made.code, qr=qr, expires=made.expires_at, utc=UTC
    )


@post("/patients/{patient_id:uuid}/reviewed", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def mark_reviewed_form(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[Any]:
    await require_link(db, clinician, patient_id, "view", "review.mark", address=client_address(request))
    await triage.mark_reviewed(db, clinician, patient_id)
    return Redirect(f"/?reviewed=1{_back(await request.form())}#patient-{patient_id}", status_code=303)


@post("/patients/{patient_id:uuid}/reviewed/undo", include_in_schema=False, status_code=303, dependencies=CLINICIAN)
async def undo_reviewed_form(
    request: Request[Any, Any, Any], db: AsyncSession, clinician: Principal, patient_id: uuid.UUID
) -> Response[Any]:
    """Undoes the clinician's own latest mark (another clinician's stands)."""
    await require_link(db, clinician, patient_id, "view", "review.undo", address=client_address(request))
    await triage.undo_reviewed(db, clinician, patient_id)
    return Redirect(f"/?undone=1{_back(await request.form())}#patient-{patient_id}", status_code=303)


def _back(form: Any) -> str:
    """The list's window and order, kept across a mark or its undo."""
    days, sort = forms.text(form, "days"), forms.text(form, "sort")
    keep = ""
    if days in {"7", "14", "30"}:
        keep += f"&days={days}"
    if sort and sort.isalpha() and len(sort) < 20:
        keep += f"&sort={sort}"
    return keep


ROUTES: list[Any] = [
    sharing_page,
    sharing_code_form,
    sharing_accept_form,
    sharing_revoke_form,
    access_history_page,
    redeem_form,
    offer_form,
    mark_reviewed_form,
    undo_reviewed_form,
    *ashworth_pages.ROUTES,
]
