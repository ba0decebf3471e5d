"""The patient's episode pages: log a spasm in a few taps, an episode's details, deleting it (the daily check-in and
the weekly Penn rating are in checkin_pages.py).

Every page works as a plain HTML form; the scripts in pwa/static make the same forms work offline through the outbox.
Each form is decoded into the JSON API's own Struct (shared/forms.py) and written by the same service (services.py),
so a form is held to exactly the API's rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.diary import catalog, habits, records, services
from backend.diary.dependencies import TheSafety, TheWrites
from backend.diary.display import FIELD_NAMES, body_rows, local, options, place_name, where_text
from backend.diary.models import Episode, PatientProfile
from backend.diary.records import zone_of
from backend.diary.schemas import BodySiteEntry, EpisodeIn, EpisodeOut, Treatment
from backend.education.articles import TRIGGER_LINKS
from backend.shared import formats, forms
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import translate
from backend.shared.principal import Principal
from backend.shared.problems import FieldError, Problem, invalid
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
RELIEF = (0, 3, 7, 10)
CRAMP_CONDITIONS = {"idiopathic_cramps", "night_cramps"}
AGO = {"0", "15", "30", "60"}


def _t(lang: str, text: str) -> str:
    return translate(lang, text)


def _messages(problem: Problem, lang: str) -> list[str]:
    return forms.messages(problem, lang, FIELD_NAMES)


def today(profile: PatientProfile) -> dt.date:
    return dt.datetime.now(zone_of(profile)).date()


def _sites(form: Any) -> list[dict[str, str]]:
    """The ticked places of the body picture ("calf:left"), as the API's body sites (the Struct checks them)."""
    found = []
    for raw in dict.fromkeys(form.getall("where", [])):
        site, _, side = str(raw).partition(":")
        found.append({"site": site, "side": side})
    return found


def _places(sites: list[dict[str, str]]) -> bool:
    """Whether the ticked places are places of the API's body picture (its own type decides), at least one."""
    try:
        return bool(msgspec.convert(sites, list[BodySiteEntry], strict=True))
    except msgspec.ValidationError:
        return False


# ---- the log ----------------------------------------------------------------------------------------------------


def _log_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    recent: list[Episode],
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    untick_day: str | None = None,
) -> Template:
    lang = profile.language
    usual = []
    for value in habits.usual_places(recent, 3):
        site, _, side = value.partition(":")
        usual.append({"value": value, "label": place_name(lang, site, side)})
    when = [("0", _t(lang, "Now")), ("15", _t(lang, "15 min ago")), ("30", _t(lang, "30 min ago"))]
    when.append(("60", _t(lang, "1 hour ago")))
    default_kind = "cramp" if set(profile.conditions or []) & CRAMP_CONDITIONS else "spasm"
    return page(
        request,
        settings,
        "patient/log.html",
        status=status,
        language=lang,
        me=me,
        new_id=uuid.uuid4(),
        when_choices=when,
        body_rows=body_rows(lang),
        default_kind=default_kind,
        form=form or {"where": []},
        recent_places=usual,
        last_time=habits.last_time(recent),
        errors=errors,
        untick_day=untick_day,
    )


@get("/log", include_in_schema=False, dependencies=PATIENT)
async def log_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    return _log_page(request, settings, patient, profile, await habits.recent_episodes(db, patient.user_id))


@post("/log", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def log_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, writes: TheWrites, patient: Principal
) -> Response[Any]:
    form = await request.form()
    profile = await services.profile_row(db, patient.user_id)
    recent = await habits.recent_episodes(db, patient.user_id)
    lang = profile.language
    keep = {
        "ago": form.get("ago"),
        "intensity": form.get("intensity"),
        "where": form.getall("where", []),
        "kind": form.get("kind"),
        "same": form.get("same"),
    }
    try:
        episode_id = uuid.UUID(str(form.get("id")))
    except ValueError:
        episode_id = uuid.uuid4()
    ago = str(form.get("ago") or "0")
    # "30 minutes ago" is 30 real minutes, also across a daylight-saving change: subtract in UTC, then go local.
    started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=int(ago) if ago in AGO else 0)
    sites = _sites(form)
    intensity = forms.number(form, "intensity")
    last = habits.last_time(recent)
    if form.get("same") == "1" and last is not None:  # "same as last time" fills what was not chosen (without script)
        intensity = last.intensity if forms.text(form, "intensity") is None else intensity
        sites = sites or [dict(zip(("site", "side"), p.split(":"), strict=True)) for p in last.places]
    values = {
        "kind": forms.text(form, "kind") or "spasm",
        "started_at": started.astimezone(zone_of(profile)).isoformat(),
        "intensity": intensity,
        "body_sites": sites,
    }
    # The two taps this page asks for, said as the page asks them (the Struct's own words for anything else).
    missing = []
    try:
        data = forms.decode(values, EpisodeIn)
    except Problem as problem:
        if {e.field.split("[")[0] for e in problem.errors} - {"intensity", "body_sites"}:
            return _log_page(
                request, settings, patient, profile, recent, status=422, form=keep, errors=_messages(problem, lang)
            )
        if any(e.field == "intensity" for e in problem.errors):
            missing.append(_t(lang, "Choose how strong it was, from 0 to 10."))
    if not _places(sites):
        missing.append(_t(lang, "Tap at least one place on the body."))
    if missing:
        return _log_page(request, settings, patient, profile, recent, status=400, form=keep, errors=missing)
    try:
        existing = await db.get(Episode, (patient.user_id, episode_id))
        if existing is not None:
            sent = sorted(f"{b.site}:{b.side}" for b in data.body_sites)
            if (
                existing.intensity == data.intensity
                and sorted(f"{b['site']}:{b['side']}" for b in existing.body_sites) == sent
            ):  # the same form sent again (a double tap, a reload): one episode
                return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)
            episode_id = uuid.uuid4()  # the page was reused for another spasm: a new entry
        if form.get("untick_checkin") == "1":  # "I had one after all": the day's "no episodes" goes first
            await writes.untick_no_episodes(db, patient, data.started_at.date(), address=client_address(request))
        await writes.episode(patient, episode_id, data, None, address=client_address(request), held=db)
    except Problem as problem:
        await db.rollback()
        profile = await services.profile_row(db, patient.user_id)  # the rollback expired it
        if problem.code == "contradiction":
            day = started.astimezone(zone_of(profile)).date()
            words = _t(
                lang,
                "Your check-in for %(day)s says “no spasms or cramps”. Your entry is still here: untick that and "
                "save it in one go, or change the check-in.",
            ) % {"day": formats.day(day, lang, weekday=True)}
            return _log_page(
                request,
                settings,
                patient,
                profile,
                recent,
                status=422,
                form=keep,
                errors=[words],
                untick_day=day.isoformat(),
            )
        errors = _messages(problem, lang)
        return _log_page(
            request, settings, patient, profile, recent, status=problem.status_code, form=keep, errors=errors
        )
    return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)


# ---- episode details --------------------------------------------------------------------------------------------


def _episode_view(out: EpisodeOut, profile: PatientProfile) -> dict[str, Any]:
    reliefs = [t.relief for t in out.treatments if t.relief is not None]
    return {
        "id": out.id,
        "version": out.version,
        "kind": out.kind,
        "intensity": out.intensity,
        "started_at": out.started_at.isoformat(),
        "started_local": local(out.started_at, zone_of(profile), profile.language),
        "duration_minutes": round(out.duration_seconds / 60) if out.duration_seconds else None,
        "where": [f"{b.site}:{b.side}" for b in out.body_sites],
        "woke_from_sleep": out.woke_from_sleep,
        "triggers": out.triggers,
        "treatments": [t.kind for t in out.treatments],
        "relief": min(RELIEF, key=lambda r: abs(r - reliefs[0])) if reliefs else None,
        "impacts": out.impacts,
        "symptoms": out.symptoms,
        "context": out.context,
        "note": out.note,
    }


def _shown(lang: str, key: str, value: Any) -> str:
    """A field's value in words, for the table that compares two versions."""
    tables: dict[str, dict[str, str]] = {
        "kind": catalog.EPISODE_KINDS,
        "triggers": catalog.TRIGGERS,
        "treatments": catalog.TREATMENTS,
    }
    if value is None or value == []:
        return "–"
    if key == "where":
        return where_text(lang, [dict(zip(("site", "side"), v.split(":"), strict=True)) for v in value])
    if key in tables:
        items = value if isinstance(value, list) else [value]
        return ", ".join(_t(lang, tables[key].get(v) or str(v)) for v in items)
    return str(value)


def _episode_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    out: EpisodeOut,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    extra.setdefault("e", _episode_view(out, profile))
    # For offline edits (forms.js); "<" escaped so that no text in the record can close the script element.
    record_json = Markup(msgspec.json.encode(out).decode().replace("<", "\\u003c"))
    return _details_page(
        request, settings, me, profile, status=status, safety=out.safety, record_json=record_json, **extra
    )


def _details_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    me: Principal,
    profile: PatientProfile,
    *,
    status: int = 200,
    **extra: Any,
) -> Template:
    lang = profile.language
    relief = [(0, _t(lang, "Not at all")), (3, _t(lang, "A little")), (7, _t(lang, "A lot"))]
    relief.append((10, _t(lang, "It went away")))
    # Each group opens with the patient's own frequent choices (habits.py), then every choice in the usual order.
    recent: list[Episode] = extra.pop("recent", [])
    usual = {
        field: habits.usual(recent, field) for field in ("triggers", "treatments", "impacts", "symptoms", "context")
    }
    return page(
        request,
        settings,
        "patient/episode.html",
        status=status,
        language=lang,
        me=me,
        kinds=options(lang, catalog.EPISODE_KINDS),
        body_rows=body_rows(lang),
        triggers=options(lang, catalog.TRIGGERS),
        treatments=options(lang, catalog.TREATMENTS),
        impacts=options(lang, catalog.IMPACTS),
        symptoms=options(lang, catalog.SYMPTOMS),
        contexts=options(lang, catalog.CONTEXTS),
        trigger_links={k: f"/learn/{v}" for k, v in TRIGGER_LINKS.items()},
        relief_choices=relief,
        usual=usual,
        **extra,
    )


# The details form of an entry still waiting on the phone, with nothing filled in: forms.js fills it from the outbox
# and saves the change into the waiting copy. The service worker keeps it and shows it for such an entry's address.
BLANK: dict[str, Any] = {
    "id": "draft",
    "version": "",
    "kind": None,
    "intensity": None,
    "started_at": "",
    "started_local": "",
    "duration_minutes": None,
    "where": [],
    "woke_from_sleep": None,
    "triggers": [],
    "treatments": [],
    "relief": None,
    "impacts": [],
    "symptoms": [],
    "context": [],
    "note": None,
}


@get("/episodes/draft", include_in_schema=False, dependencies=PATIENT)
async def episode_draft_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await services.profile_row(db, patient.user_id)
    recent = await habits.recent_episodes(db, patient.user_id)
    return _details_page(
        request, settings, patient, profile, e=BLANK, safety=[], record_json=Markup("null"), draft=True, recent=recent
    )


@get("/episodes/{episode_id:uuid}", include_in_schema=False, dependencies=PATIENT)
async def episode_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    safety: TheSafety,
    patient: Principal,
    episode_id: uuid.UUID,
) -> Template:
    out = records.episode_out(await services.episode_row(db, patient.user_id, episode_id))
    out.safety = await safety.notices(db, patient, episode_id=episode_id)
    profile = await services.profile_row(db, patient.user_id)
    recent = await habits.recent_episodes(db, patient.user_id)
    saved = request.query_params.get("saved") == "1"
    return _episode_page(request, settings, patient, profile, out, saved=saved, recent=recent)


def episode_from_form(form: Any, current: EpisodeOut) -> EpisodeIn:
    """The stored episode with what the details form changes, decoded like the API's body; fields the form does not
    show are kept as they are."""
    minutes = forms.text(form, "duration_minutes")
    relief = forms.number(form, "relief")
    if relief is not None:  # checked as the API checks a treatment's relief, also when no treatment is ticked
        forms.decode({"kind": "other", "relief": relief}, Treatment, field="treatments")
    before = {t.kind: msgspec.to_builtins(t) for t in current.treatments}
    treatments = [
        {**before.get(k, {"kind": k}), "relief": relief} for k in forms.codes(form, "treatments", catalog.TREATMENTS)
    ]
    stored = msgspec.to_builtins(current)
    values = {
        **{f: stored[f] for f in EpisodeIn.__struct_fields__ if f in stored and f != "entered_at"},
        "kind": forms.text(form, "kind") or current.kind,
        "intensity": forms.number(form, "intensity") if forms.text(form, "intensity") else current.intensity,
        "body_sites": _sites(form) or stored["body_sites"],
        "woke_from_sleep": True
        if form.get("woke_from_sleep")
        else (None if current.woke_from_sleep is None else False),
        "triggers": forms.codes(form, "triggers", catalog.TRIGGERS),
        "symptoms": forms.codes(form, "symptoms", catalog.SYMPTOMS),
        "context": forms.codes(form, "context", catalog.CONTEXTS),
        "treatments": treatments,
        "impacts": forms.codes(form, "impacts", catalog.IMPACTS),
        "note": forms.text(form, "note"),
    }
    if minutes is not None and minutes != "0":
        values.update(ended_at=None, duration_seconds=_seconds(minutes))
    elif current.ended_at is not None:
        values["duration_seconds"] = None
    return forms.decode(values, EpisodeIn)


def _seconds(minutes: str) -> int:
    """Minutes as typed, in seconds, for the Struct to check (at most a day)."""
    if not forms.DIGITS.fullmatch(minutes):
        raise invalid([FieldError("duration_minutes", "must be a whole number")])
    return int(minutes) * 60


@post("/episodes/{episode_id:uuid}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def episode_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    writes: TheWrites,
    patient: Principal,
    episode_id: uuid.UUID,
) -> Response[Any]:
    form = await request.form()
    profile = await services.profile_row(db, patient.user_id)
    current = records.episode_out(await services.episode_row(db, patient.user_id, episode_id))
    data: EpisodeIn | None = None
    try:
        data = episode_from_form(form, current)
        version = forms.version(form) or current.version
        await writes.episode(patient, episode_id, data, version, address=client_address(request), held=db)
    except Problem as problem:
        await db.rollback()
        profile = await services.profile_row(db, patient.user_id)  # the rollback expired it
        if problem.status_code == 412 and data is not None:
            mine_out = EpisodeOut(
                **{
                    **msgspec.structs.asdict(current),
                    **{f: getattr(data, f) for f in data.__struct_fields__ if f in EpisodeOut.__struct_fields__},
                }
            )
            mine, saved = _episode_view(mine_out, profile), _episode_view(current, profile)
            lang = profile.language
            rows = [
                (_t(lang, FIELD_NAMES[key]), _shown(lang, key, saved[key]), _shown(lang, key, mine[key]))
                for key in ("kind", "intensity", "duration_minutes", "where", "triggers", "treatments", "note")
                if saved[key] != mine[key]
            ]
            # The form shows the patient's version on top of the saved one: saving again keeps theirs.
            recent = await habits.recent_episodes(db, patient.user_id)
            return _episode_page(
                request, settings, patient, profile, current, status=409, conflict=rows, e=mine, recent=recent
            )
        errors = _messages(problem, profile.language)
        recent = await habits.recent_episodes(db, patient.user_id)
        status = problem.status_code
        return _episode_page(request, settings, patient, profile, current, status=status, errors=errors, recent=recent)
    return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)


@post("/episodes/{episode_id:uuid}/delete", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def episode_delete_form(
    request: Request[Any, Any, Any], db: AsyncSession, writes: TheWrites, patient: Principal, episode_id: uuid.UUID
) -> Response[Any]:
    form = await request.form()
    await writes.delete(db, patient, Episode, episode_id, forms.version(form), address=client_address(request))
    return Redirect("/history?deleted=1", status_code=303)


ROUTES: list[Any] = [
    log_page,
    log_form,
    episode_draft_page,
    episode_page,
    episode_form,
    episode_delete_form,
]
