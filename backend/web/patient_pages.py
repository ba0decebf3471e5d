"""The patient's pages: log, details, check-in, weekly rating, diary, trends, sharing, data and settings.

Every page works as a plain HTML form; the scripts in pwa/static make the same forms work offline through the outbox.
Writes go through the same functions as the JSON API (diary.routes.save_*), so the rules cannot drift apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.rights import EraseIn, erase_account
from backend.care.links import AcceptIn, InvitationIn, accept, invite, list_links, revoke
from backend.care.routes import access_history
from backend.config import Settings
from backend.diary import catalog, records
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating
from backend.diary.records import zone_of
from backend.diary.routes import save_checkin, save_episode, save_penn
from backend.diary.schemas import BodySiteEntry, CheckInIn, EpisodeIn, EpisodeOut, PennIn, Treatment
from backend.education.articles import TRIGGER_LINKS
from backend.flags import lifecycle
from backend.reports.charts import bars
from backend.shared.checks import known_time_zone
from backend.shared.dependencies import provide_patient
from backend.shared.i18n import N_, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem, not_found
from backend.shared.rendering import page

PATIENT = {"patient": Provide(provide_patient)}
# The body picture, as rows of a grid seen from the front; the patient's right is on the left of the screen.
BODY_LAYOUT: list[list[tuple[str, str] | None]] = [
    [None, ("jaw", "middle"), ("neck", "middle"), None],
    [("shoulder", "right"), ("chest", "middle"), ("upper_back", "middle"), ("shoulder", "left")],
    [("upper_arm", "right"), ("abdomen", "middle"), ("lower_back", "middle"), ("upper_arm", "left")],
    [("forearm", "right"), ("hip", "right"), ("hip", "left"), ("forearm", "left")],
    [("hand", "right"), ("thigh", "right"), ("thigh", "left"), ("hand", "left")],
    [None, ("hamstring", "right"), ("hamstring", "left"), None],
    [None, ("shin", "right"), ("shin", "left"), None],
    [None, ("calf", "right"), ("calf", "left"), None],
    [None, ("foot", "right"), ("foot", "left"), None],
    [None, ("toes", "right"), ("toes", "left"), None],
]
RELIEF = (0, 3, 7, 10)
CRAMP_CONDITIONS = {"idiopathic_cramps", "night_cramps"}


async def _profile(db: AsyncSession, me: Principal) -> PatientProfile:
    profile = await db.get(PatientProfile, me.user_id)
    if profile is None:  # every patient gets one at registration; only a half-erased account could lack it
        raise not_found("profile")
    return profile


def _t(lang: str, text: str) -> str:
    return translate(lang, text)


def body_rows(lang: str) -> list[list[dict[str, str] | None]]:
    side_word = {"left": _t(lang, "Left"), "right": _t(lang, "Right")}
    rows: list[list[dict[str, str] | None]] = []
    for row in BODY_LAYOUT:
        cells: list[dict[str, str] | None] = []
        for cell in row:
            if cell is None:
                cells.append(None)
                continue
            site, side = cell
            label = _t(lang, catalog.BODY_SITES[site][0])
            text = f"{side_word[side]}: {label.lower()}" if side in side_word else label
            cells.append({"value": f"{site}:{side}", "label": text, "side": side})
        rows.append(cells)
    return rows


def _options(lang: str, table: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, _t(lang, label)) for code, label in table.items()]


def _where_text(lang: str, sites: list[Any]) -> str:
    parts = []
    for b in sites:
        site, side = (b["site"], b["side"]) if isinstance(b, dict) else (b.site, b.side)
        label = _t(lang, catalog.BODY_SITES[site][0])
        parts.append(label if side in {"middle", "both"} else f"{label} ({_t(lang, catalog.SIDES[side]).lower()})")
    return ", ".join(parts)


def _local(value: dt.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%d/%m %H:%M")


def _list_item(lang: str, e: Episode, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": e.id, "local": _local(e.started_at, zone), "kind_label": _t(lang, catalog.EPISODE_KINDS[e.kind]),
            "where": _where_text(lang, e.body_sites), "intensity": e.intensity}  # fmt: skip


# What the shared services answer in the cases these pages meet, so that a Spanish page says it in Spanish.
PROBLEM_DETAILS = (
    N_("That password is not right. Nothing was erased."),
    N_('Type "erase my account" to confirm.'),
    N_(
        "This code is not valid: it may be mistyped, used already, or older than 7 days. Ask your clinician for a new one."
    ),
    N_("The temperature must be between 30 and 45 °C."),
)
FIELD_NAMES = {
    "kind": N_("What it was"), "intensity": N_("Strength"), "duration_minutes": N_("Minutes"), "where": N_("Where"),
    "triggers": N_("Triggers"), "treatments": N_("What you did"), "note": N_("Note"), "started_at": N_("Start"),
    "stiffness": N_("Stiffness"), "pain": N_("Pain"), "temperature_c": N_("Temperature"),
    "systolic_bp": N_("Blood pressure"), "frequency": N_("How often"), "severity": N_("How bad"),
}  # fmt: skip


def _messages(problem: Problem, lang: str) -> list[str]:
    if problem.errors:
        return [f"{_t(lang, FIELD_NAMES.get(e.field, e.field.replace('_', ' ').capitalize()))}: {e.reason}"
                for e in problem.errors]  # fmt: skip
    return [_t(lang, str(problem.detail))]


# What a clinician did, in words (audit actions are "<area>.<verb>": report.read, flags.resolve, export.csv...).
ACTIONS = {
    "report": N_("Opened your report"), "flags": N_("Looked at or acted on your flags"),
    "export": N_("Exported your diary"), "triage": N_("Saw you in their patient list"),
    "measures": N_("Looked at your numbers"), "review": N_("Marked your diary reviewed"),
    "appointment": N_("Scheduled or changed a follow-up"), "ashworth": N_("Recorded a muscle tone grade"),
    "thresholds": N_("Adjusted your follow-up rules"), "care-link": N_("Linked to your diary"),
}  # fmt: skip
LOOKED = N_("Looked at your diary")
CHECKIN_CONFLICT = N_("This day's check-in was saved from somewhere else meanwhile. Your answers are shown; save again "
                      "to keep them.")  # fmt: skip
DIGITS = re.compile(r"[0-9]{1,9}")


def _version(form: Any) -> int | None:
    raw = str(form.get("version") or "")
    return int(raw) if DIGITS.fullmatch(raw) else None


def _int_field(form: Any, name: str, low: int, high: int) -> int | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(float(raw))
    except (ValueError, OverflowError) as exc:  # "abc", "nan", and "inf" or "1e999"
        raise Problem(422, f"{name} must be a whole number", code="validation-failed") from exc
    if not low <= value <= high:
        raise Problem(422, f"{name} must be between {low} and {high}", code="validation-failed")
    return value


def _sites(form: Any) -> list[BodySiteEntry]:
    found = []
    for raw in form.getall("where", []):
        site, _, side = str(raw).partition(":")
        if site in catalog.BODY_SITES and side in catalog.SIDES:
            found.append(BodySiteEntry(site=site, side=side))  # type: ignore[arg-type]
    return found


def _codes(form: Any, name: str, table: dict[str, Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in form.getall(name, []) if v in table))


# ---- the log ---------------------------------------------------------------------------------------------------------


def _log_page(request: Request[Any, Any, Any], settings: Settings, me: Principal, profile: PatientProfile,
              *, status: int = 200, form: dict[str, Any] | None = None, errors: list[str] | None = None,
              untick_day: str | None = None) -> Template:  # fmt: skip
    lang = profile.language
    when = [("0", _t(lang, "Now")), ("15", _t(lang, "15 min ago")), ("30", _t(lang, "30 min ago")),
            ("60", _t(lang, "1 hour ago"))]  # fmt: skip
    default_kind = "cramp" if set(profile.conditions or []) & CRAMP_CONDITIONS else "spasm"
    return page(request, settings, "patient/log.html", status=status, language=lang, me=me, new_id=uuid.uuid4(),
                when_choices=when, body_rows=body_rows(lang), default_kind=default_kind,
                form=form or {"where": []}, errors=errors, untick_day=untick_day)  # fmt: skip


@get("/log", include_in_schema=False, dependencies=PATIENT)
async def log_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    return _log_page(request, settings, patient, await _profile(db, patient))


@post("/log", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def log_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                   patient: Principal) -> Response[Any]:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    lang = profile.language
    keep = {"ago": form.get("ago"), "intensity": form.get("intensity"), "where": form.getall("where", []),
            "kind": form.get("kind")}  # fmt: skip
    errors = []
    intensity = str(form.get("intensity") or "")
    if not DIGITS.fullmatch(intensity) or not 0 <= int(intensity) <= 10:
        errors.append(_t(lang, "Choose how strong it was, from 0 to 10."))
    sites = _sites(form)
    if not sites:
        errors.append(_t(lang, "Tap at least one place on the body."))
    try:
        episode_id = uuid.UUID(str(form.get("id")))
    except ValueError:
        episode_id = uuid.uuid4()
    ago = str(form.get("ago") or "0")
    minutes = int(ago) if ago in {"0", "15", "30", "60"} else 0
    if errors:
        return _log_page(request, settings, patient, profile, status=400, form=keep, errors=errors)
    existing = await db.get(Episode, (patient.user_id, episode_id))
    if existing is not None:
        same = existing.intensity == int(intensity) and sorted(f"{b['site']}:{b['side']}" for b in existing.body_sites) \
            == sorted(f"{b.site}:{b.side}" for b in sites)  # fmt: skip
        if same:  # the same form sent again (a double tap, a reload): one episode
            return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)
        episode_id = uuid.uuid4()  # the page was reused for another spasm: a new entry
    kind = str(form.get("kind") or "spasm")
    data = EpisodeIn(
        kind=kind if kind in catalog.EPISODE_KINDS else "spasm",  # type: ignore[arg-type]
        # "30 minutes ago" is 30 real minutes, also across a daylight-saving change: subtract in UTC, then go local.
        started_at=(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=minutes)).astimezone(
            zone_of(profile)
        ),
        intensity=int(intensity),
        body_sites=sites,
    )
    try:
        if form.get("untick_checkin") == "1":  # "I had one after all": the day's "no episodes" goes first
            await untick_no_episodes(request, db, patient, data.started_at.date())
        await save_episode(request, db, patient, episode_id, data, None)
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        if problem.code == "contradiction":
            day = data.started_at.date()
            words = _t(lang, 'Your check-in for %(day)s says “no spasms or cramps”. Your entry is still here: '
                             "untick that and save it in one go, or change the check-in.") % {"day": day.strftime("%d/%m/%Y")}  # fmt: skip
            return _log_page(request, settings, patient, profile, status=422, form=keep, errors=[words],
                             untick_day=day.isoformat())  # fmt: skip
        return _log_page(request, settings, patient, profile, status=problem.status_code, form=keep,
                         errors=_messages(problem, lang))  # fmt: skip
    return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)


async def untick_no_episodes(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal,
                             day: dt.date) -> None:  # fmt: skip
    """The day's check-in without its "no episodes today", the rest kept, through the check-in's own write."""
    row = await db.get(CheckIn, (patient.user_id, day))
    if row is None or not row.no_episodes:
        return
    current = records.checkin_out(row)
    fields = {f: getattr(current, f) for f in CheckInIn.__struct_fields__ if f != "entered_at"}
    await save_checkin(request, db, patient, day, CheckInIn(**{**fields, "no_episodes": False}), row.version)


# ---- episode details -------------------------------------------------------------------------------------------------


def _episode_view(out: EpisodeOut, zone: ZoneInfo) -> dict[str, Any]:
    reliefs = [t.relief for t in out.treatments if t.relief is not None]
    return {
        "id": out.id, "version": out.version, "kind": out.kind, "intensity": out.intensity,
        "started_at": out.started_at.isoformat(), "started_local": _local(out.started_at, zone),
        "duration_minutes": round(out.duration_seconds / 60) if out.duration_seconds else None,
        "where": [f"{b.site}:{b.side}" for b in out.body_sites], "woke_from_sleep": out.woke_from_sleep,
        "triggers": out.triggers, "treatments": [t.kind for t in out.treatments],
        "relief": min(RELIEF, key=lambda r: abs(r - reliefs[0])) if reliefs else None,
        "impacts": out.impacts, "symptoms": out.symptoms, "context": out.context, "note": out.note,
    }  # fmt: skip


def _shown(lang: str, key: str, value: Any) -> str:
    """A field's value in words, for the table that compares two versions."""
    tables: dict[str, dict[str, str]] = {"kind": catalog.EPISODE_KINDS, "triggers": catalog.TRIGGERS,
                                         "treatments": catalog.TREATMENTS}  # fmt: skip
    if value is None or value == []:
        return "–"
    if key == "where":
        return _where_text(lang, [dict(zip(("site", "side"), v.split(":"), strict=True)) for v in value])
    if key in tables:
        items = value if isinstance(value, list) else [value]
        return ", ".join(_t(lang, tables[key].get(v) or str(v)) for v in items)
    return str(value)


def _episode_page(request: Request[Any, Any, Any], settings: Settings, me: Principal, profile: PatientProfile,
                  out: EpisodeOut, *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    lang = profile.language
    relief = [(0, _t(lang, "Not at all")), (3, _t(lang, "A little")), (7, _t(lang, "A lot")),
              (10, _t(lang, "It went away"))]  # fmt: skip
    extra.setdefault("e", _episode_view(out, zone_of(profile)))
    # For offline edits (forms.js); "<" escaped so that no text in the record can close the script element.
    record_json = Markup(msgspec.json.encode(out).decode().replace("<", "\\u003c"))
    return page(request, settings, "patient/episode.html", status=status, language=lang, me=me,
                kinds=_options(lang, catalog.EPISODE_KINDS), body_rows=body_rows(lang),
                triggers=_options(lang, catalog.TRIGGERS), treatments=_options(lang, catalog.TREATMENTS),
                impacts=_options(lang, catalog.IMPACTS), symptoms=_options(lang, catalog.SYMPTOMS),
                contexts=_options(lang, catalog.CONTEXTS),
                trigger_links={k: f"/learn/{v}" for k, v in TRIGGER_LINKS.items()}, relief_choices=relief,
                safety=out.safety, record_json=record_json, **extra)  # fmt: skip


async def _own_episode(db: AsyncSession, me: Principal, episode_id: uuid.UUID) -> Episode:
    row = await db.get(Episode, (me.user_id, episode_id))
    if row is None or row.deleted_at is not None:
        raise not_found("episode")
    return row


@get("/episodes/{episode_id:uuid}", include_in_schema=False, dependencies=PATIENT)
async def episode_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal,
                       episode_id: uuid.UUID) -> Template:  # fmt: skip
    row = await _own_episode(db, patient, episode_id)
    from backend.diary.routes import _notices

    out = records.episode_out(row)
    out.safety = await _notices(db, patient, episode_id=episode_id)
    return _episode_page(request, settings, patient, await _profile(db, patient), out,
                         saved=request.query_params.get("saved") == "1")  # fmt: skip


def episode_from_form(form: Any, current: EpisodeOut) -> EpisodeIn:
    """The stored episode with what the details form changes; fields the form does not show are kept as they are."""
    minutes = _int_field(form, "duration_minutes", 0, 1440)
    relief = _int_field(form, "relief", 0, 10)
    kinds = _codes(form, "treatments", catalog.TREATMENTS)
    before = {t.kind: t for t in current.treatments}
    treatments = [Treatment(kind=k, name=before[k].name if k in before else None,
                            dose=before[k].dose if k in before else None, relief=relief,
                            minutes_to_relief=before[k].minutes_to_relief if k in before else None) for k in kinds]  # fmt: skip
    kind = str(form.get("kind") or current.kind)
    intensity = _int_field(form, "intensity", 0, 10)
    note = str(form.get("note") or "").strip()
    return EpisodeIn(
        kind=kind if kind in catalog.EPISODE_KINDS else current.kind,  # type: ignore[arg-type]
        started_at=current.started_at, ended_at=current.ended_at if not minutes else None,
        duration_seconds=minutes * 60 if minutes else (None if current.ended_at else current.duration_seconds),
        ongoing=current.ongoing, intensity=current.intensity if intensity is None else intensity,
        body_sites=_sites(form) or current.body_sites,
        woke_from_sleep=True if form.get("woke_from_sleep") else (None if current.woke_from_sleep is None else False),
        triggers=_codes(form, "triggers", catalog.TRIGGERS), own_triggers=current.own_triggers,
        symptoms=_codes(form, "symptoms", catalog.SYMPTOMS), context=_codes(form, "context", catalog.CONTEXTS),
        treatments=treatments,
        impacts=_codes(form, "impacts", catalog.IMPACTS), note=note or None, reporter=current.reporter,
    )  # fmt: skip


@post("/episodes/{episode_id:uuid}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def episode_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal,
                       episode_id: uuid.UUID) -> Response[Any]:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    current = records.episode_out(await _own_episode(db, patient, episode_id))
    try:
        data = episode_from_form(form, current)
        await save_episode(request, db, patient, episode_id, data, _version(form) or current.version)
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        if problem.status_code == 412:
            mine = _episode_view(EpisodeOut(**{**msgspec.structs.asdict(current), **{
                f: getattr(data, f) for f in data.__struct_fields__ if f in EpisodeOut.__struct_fields__}}), zone_of(profile))  # fmt: skip
            saved = _episode_view(current, zone_of(profile))
            lang = profile.language
            rows = [(_t(lang, FIELD_NAMES[key]), _shown(lang, key, saved[key]), _shown(lang, key, mine[key]))
                    for key in ("kind", "intensity", "duration_minutes", "where", "triggers", "treatments", "note")
                    if saved[key] != mine[key]]  # fmt: skip
            # The form shows the patient's version on top of the saved one: saving again keeps theirs.
            return _episode_page(request, settings, patient, profile, current, status=409, conflict=rows, e=mine)
        return _episode_page(request, settings, patient, profile, current, status=problem.status_code,
                             errors=_messages(problem, profile.language))  # fmt: skip
    return Redirect(f"/episodes/{episode_id}?saved=1", status_code=303)


@post("/episodes/{episode_id:uuid}/delete", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def episode_delete_form(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal,
                              episode_id: uuid.UUID) -> Response[Any]:  # fmt: skip
    from backend.diary.routes import EpisodeController

    form = await request.form()
    version = _version(form)
    handler = EpisodeController.delete_episode.fn
    await handler(None, request, db, patient, episode_id, f'"{version}"' if version else None)
    return Redirect("/history?deleted=1", status_code=303)


# ---- daily check-in and weekly rating --------------------------------------------------------------------------------


def _today(profile: PatientProfile) -> dt.date:
    return dt.datetime.now(zone_of(profile)).date()


async def _checkin_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal,
                        profile: PatientProfile, day: dt.date, *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    lang = profile.language
    if "c" not in extra:
        row = await db.get(CheckIn, (me.user_id, day))
        extra["c"] = records.checkin_out(row) if row else {}
    return page(request, settings, "patient/checkin.html", status=status, language=lang, me=me, day=day,
                day_label=day.strftime("%d/%m/%Y"), meds_taken=_options(lang, catalog.MEDS_TAKEN),
                symptoms=_options(lang, catalog.SYMPTOMS), **extra)  # fmt: skip


@get("/check-in", include_in_schema=False, dependencies=PATIENT)
async def checkin_today(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                        patient: Principal) -> Template:  # fmt: skip
    profile = await _profile(db, patient)
    return await _checkin_page(request, db, settings, patient, profile, _today(profile))


@get("/check-in/{day:date}", include_in_schema=False, dependencies=PATIENT)
async def checkin_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal,
                       day: dt.date) -> Template:  # fmt: skip
    profile = await _profile(db, patient)
    return await _checkin_page(
        request, db, settings, patient, profile, day, saved=request.query_params.get("saved") == "1"
    )


@post("/check-in/{day:date}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def checkin_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal,
                       day: dt.date) -> Response[Any]:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    # What was typed, shown again with any message (the page reads the same names as a stored check-in).
    typed = {
        **{name: str(form.get(name) or "")[:2000] or None for name in ("stiffness", "sleep_disturbance", "pain",
                                                                       "meds_taken", "systolic_bp", "temperature_c",
                                                                       "note")},
        "no_episodes": bool(form.get("no_episodes")), "new_or_worse_symptoms": bool(form.get("new_or_worse_symptoms")),
        "symptoms": _codes(form, "symptoms", catalog.SYMPTOMS), "version": _version(form),
    }  # fmt: skip
    try:
        temperature = str(form.get("temperature_c") or "").strip().replace(",", ".")  # 37,5 is how many write it
        meds = str(form.get("meds_taken") or "")
        data = CheckInIn(
            no_episodes=bool(form.get("no_episodes")),
            stiffness=_int_field(form, "stiffness", 0, 10), sleep_disturbance=_int_field(form, "sleep_disturbance", 0, 10),
            pain=_int_field(form, "pain", 0, 10), meds_taken=meds if meds in catalog.MEDS_TAKEN else None,  # type: ignore[arg-type]
            symptoms=_codes(form, "symptoms", catalog.SYMPTOMS), systolic_bp=_int_field(form, "systolic_bp", 50, 300),
            temperature_c=float(temperature) if temperature else None,
            new_or_worse_symptoms=True if form.get("new_or_worse_symptoms") else None,
            note=str(form.get("note") or "").strip() or None,
        )  # fmt: skip
        if data.temperature_c is not None and not 30 <= data.temperature_c <= 45:
            raise Problem(422, _t(profile.language, "The temperature must be between 30 and 45 °C."),
                          code="validation-failed")  # fmt: skip
        out, _created = await save_checkin(request, db, patient, day, data, _version(form))
    except ValueError:
        return await _checkin_page(request, db, settings, patient, profile, day, status=422, c=typed,
                                   errors=[_t(profile.language, "The temperature must be a number such as 37.5.")])  # fmt: skip
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        if problem.status_code in (412, 428):  # the day's check-in was saved elsewhere meanwhile (another phone)
            row = await db.get(CheckIn, (patient.user_id, day))
            theirs = {**msgspec.structs.asdict(data), "version": row.version if row else None}
            return await _checkin_page(request, db, settings, patient, profile, day, status=409, c=theirs,
                                       errors=[_t(profile.language, CHECKIN_CONFLICT)])  # fmt: skip
        if problem.code == "contradiction":
            count = len(problem.extra_members.get("episodes", []))
            words = _t(profile.language, 'You ticked “no spasms or cramps today”, but your diary already has '
                                         "episodes on this day (%(n)s). Untick it, or delete those episodes first. "
                                         "Your answers are still here.") % {"n": count}  # fmt: skip
            return await _checkin_page(request, db, settings, patient, profile, day, status=422, c=typed,
                                       errors=[words], day_link=f"/history?before={day + dt.timedelta(days=1)}")  # fmt: skip
        return await _checkin_page(request, db, settings, patient, profile, day, status=problem.status_code,
                                   c=typed, errors=_messages(problem, profile.language))  # fmt: skip
    if out.safety:
        return await _checkin_page(request, db, settings, patient, profile, day, c=out, saved=True, safety=out.safety)
    return Redirect(f"/check-in/{day}?saved=1", status_code=303)


def _week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def _penn_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal,
                     profile: PatientProfile, week: str, *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    lang = profile.language
    row = await db.get(PennRating, (me.user_id, week))
    # The Penn spasm frequency and severity scales, in plain words (CLINICAL.md, scales).
    frequencies = [(0, _t(lang, "None")), (1, _t(lang, "Only when something set them off, such as a touch or a move")),
                   (2, _t(lang, "Now and then, less than once an hour")), (3, _t(lang, "Between 1 and 10 times an hour")),
                   (4, _t(lang, "More than 10 times an hour"))]  # fmt: skip
    severities = [(1, _t(lang, "Mild")), (2, _t(lang, "Moderate")), (3, _t(lang, "Severe"))]
    return page(request, settings, "patient/penn.html", status=status, language=lang, me=me, week=week,
                p=records.penn_out(row) if row else {}, frequencies=frequencies, severities=severities, **extra)  # fmt: skip


@get("/penn", include_in_schema=False, dependencies=PATIENT)
async def penn_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await _profile(db, patient)
    week = _week_of(_today(profile))
    return await _penn_page(
        request, db, settings, patient, profile, week, saved=request.query_params.get("saved") == "1"
    )


@post("/penn/{week:str}", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def penn_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal,
                    week: str) -> Response[Any]:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    try:
        frequency = _int_field(form, "frequency", 0, 4)
        if frequency is None:
            raise Problem(422, _t(profile.language, "Choose how often you had spasms."), code="validation-failed")
        severity = _int_field(form, "severity", 1, 3) if frequency else None
        await save_penn(request, db, patient, week, PennIn(frequency=frequency, severity=severity), _version(form))
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        return await _penn_page(request, db, settings, patient, profile, week, status=problem.status_code,
                                errors=_messages(problem, profile.language))  # fmt: skip
    return Redirect("/penn?saved=1", status_code=303)


# ---- diary, trends and the menu --------------------------------------------------------------------------------------


@get("/history", include_in_schema=False, dependencies=PATIENT)
async def history_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                       patient: Principal) -> Template:  # fmt: skip
    profile = await _profile(db, patient)
    zone, lang = zone_of(profile), profile.language
    try:
        before = dt.date.fromisoformat(request.query_params.get("before", ""))
    except ValueError:
        before = _today(profile) + dt.timedelta(days=1)
    if not dt.date(1900, 1, 1) <= before <= _today(profile) + dt.timedelta(days=1):  # keeps date arithmetic in range
        before = _today(profile) + dt.timedelta(days=1)
    first = before - dt.timedelta(days=14)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(before, dt.time(), zone)
    rows = (await db.execute(select(Episode).where(
        Episode.patient_id == patient.user_id, Episode.deleted_at.is_(None), Episode.started_at >= start,
        Episode.started_at < end).order_by(Episode.started_at.desc()))).scalars().all()  # fmt: skip
    checkins = {c.day: c for c in (await db.execute(select(CheckIn).where(
        CheckIn.patient_id == patient.user_id, CheckIn.day >= first, CheckIn.day < before))).scalars()}  # fmt: skip
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for e in rows:
        by_day[e.started_at.astimezone(zone).date()].append(_list_item(lang, e, zone))
    days = []
    for offset in range(1, 15):
        day = before - dt.timedelta(days=offset)
        c = checkins.get(day)
        stiffness_word = _t(lang, "stiffness")
        summary = None
        if c is not None:
            bits = [_t(lang, "no episodes") if c.no_episodes else None,
                    stiffness_word + f" {c.stiffness}/10" if c.stiffness is not None else None]  # fmt: skip
            summary = ", ".join(b for b in bits if b) or _t(lang, "done")
        if by_day.get(day) or summary:
            days.append({"date": day, "label": day.strftime("%d/%m/%Y"), "episodes": by_day.get(day, []),
                         "checkin": summary})  # fmt: skip
    later = before + dt.timedelta(days=14)
    return page(request, settings, "patient/history.html", language=lang, me=patient, days=days, earlier=first,
                later=later if later <= _today(profile) + dt.timedelta(days=1) else None,
                deleted=request.query_params.get("deleted") == "1")  # fmt: skip


@get("/trends", include_in_schema=False, dependencies=PATIENT)
async def trends_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                      patient: Principal) -> Template:  # fmt: skip
    profile = await _profile(db, patient)
    zone, lang = zone_of(profile), profile.language
    raw = request.query_params.get("days", "30")
    days = int(raw) if raw in {"14", "30", "90"} else 30
    today = _today(profile)
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), zone)
    rows = (await db.execute(select(Episode).where(
        Episode.patient_id == patient.user_id, Episode.deleted_at.is_(None),
        Episode.started_at >= start))).scalars().all()  # fmt: skip
    checkins = {c.day: c for c in (await db.execute(select(CheckIn).where(
        CheckIn.patient_id == patient.user_id, CheckIn.day >= first))).scalars()}  # fmt: skip
    per_day = Counter(e.started_at.astimezone(zone).date() for e in rows)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    labels = [d.strftime("%d/%m") for d in dates]
    count_chart = bars(list(zip(labels, [per_day.get(d, 0) for d in dates], strict=True)),
                       _t(lang, "Episodes each day"))  # fmt: skip
    stiffness = [c.stiffness if (c := checkins.get(d)) is not None and c.stiffness is not None else 0 for d in dates]
    stiffness_chart = bars(list(zip(labels, stiffness, strict=True)), _t(lang, "Stiffness each day (0-10)"))
    trigger_counts = Counter(t for e in rows for t in (e.triggers or []))
    triggers = [(_t(lang, catalog.TRIGGERS[t]), n) for t, n in trigger_counts.most_common(8)]
    used: dict[str, list[int]] = defaultdict(list)
    times: Counter[str] = Counter()
    for e in rows:
        for t in e.treatments or []:
            times[t["kind"]] += 1
            if t.get("relief") is not None:
                used[t["kind"]].append(t["relief"])
    helped = [(_t(lang, catalog.TREATMENTS[k]), n, round(sum(used[k]) / len(used[k]), 1) if used[k] else None)
              for k, n in times.most_common(8)]  # fmt: skip
    return page(request, settings, "patient/trends.html", language=lang, me=patient, days=days,
                count_chart=count_chart, stiffness_chart=stiffness_chart, per_week=len(rows) * 7 / days,
                triggers=triggers, helped=helped)  # fmt: skip


@get("/more", include_in_schema=False, dependencies=PATIENT)
async def more_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, patient: Principal
) -> Template:
    profile = await _profile(db, patient)
    return page(request, settings, "patient/more.html", language=profile.language, me=patient)


@post("/flags/{flag_id:uuid}/read", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def flag_read_form(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal,
                         flag_id: uuid.UUID) -> Response[Any]:  # fmt: skip
    """ "I've read this" on the home page: the advice folds away until something new comes."""
    await lifecycle.mark_read(db, patient, flag_id)
    return Redirect("/#advice", status_code=303)


# ---- sharing ---------------------------------------------------------------------------------------------------------


async def _sharing_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal,
                        *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    profile = await _profile(db, me)
    lang = profile.language
    scope_words = {"view": _t(lang, "see"), "annotate": _t(lang, "notes"), "notify": _t(lang, "reminders"),
                   "export": _t(lang, "export")}  # fmt: skip
    response = await list_links.fn(db, me)
    links = [{"id": link.id, "name": link.clinician_name or _t(lang, "a clinician"),
              "scopes": ", ".join(scope_words.get(s, s) for s in link.scopes)}
             for link in response.content if link.status == "active"]  # fmt: skip
    return page(request, settings, "patient/sharing.html", status=status, language=lang, me=me, links=links, **extra)


@get("/sharing", include_in_schema=False, dependencies=PATIENT)
async def sharing_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                       patient: Principal) -> Template:  # fmt: skip
    return await _sharing_page(request, db, settings, patient)


@post("/sharing/code", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_code_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                            patient: Principal) -> Template:  # fmt: skip
    form = await request.form()
    scopes = ["view", *[s for s in ("annotate", "notify", "export") if s in form.getall("scopes", [])]]
    made = (await invite.fn(request, db, settings, patient, InvitationIn(scopes=scopes))).content  # type: ignore[arg-type]
    qr = "data:image/svg+xml;base64," + base64.b64encode(made.qr_svg.encode()).decode()
    profile = await _profile(db, patient)
    expires = made.expires_at.astimezone(zone_of(profile)).strftime("%d/%m/%Y %H:%M")
    return await _sharing_page(request, db, settings, patient, code={"code": made.code, "qr": qr, "expires": expires})


@post("/sharing/accept", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_accept_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                              patient: Principal) -> Template:  # fmt: skip
    form = await request.form()
    code = str(form.get("code") or "").strip()[:40]
    profile = await _profile(db, patient)
    try:
        if not code:
            raise Problem(422, _t(profile.language, "Type the code first."), code="validation-failed")
        scopes = ["view", *[s for s in ("annotate", "notify", "export") if s in form.getall("scopes", [])]]
        await accept.fn(request, db, settings, patient, AcceptIn(code=code, scopes=scopes))  # type: ignore[arg-type]
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        return await _sharing_page(request, db, settings, patient, status=problem.status_code,
                                   errors=_messages(problem, profile.language))  # fmt: skip
    return await _sharing_page(request, db, settings, patient,
                               message=_t(profile.language, "Done: your clinician can now see your diary."))  # fmt: skip


@post("/sharing/{link_id:uuid}/revoke", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def sharing_revoke_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                              patient: Principal, link_id: uuid.UUID) -> Template:  # fmt: skip
    await revoke.fn(request, db, patient, link_id)
    profile = await _profile(db, patient)
    return await _sharing_page(request, db, settings, patient,
                               message=_t(profile.language, "Sharing stopped. They can no longer see your diary."))  # fmt: skip


@get("/sharing/history", include_in_schema=False, dependencies=PATIENT)
async def access_history_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                              patient: Principal) -> Template:  # fmt: skip
    profile = await _profile(db, patient)
    zone = zone_of(profile)
    found = (await access_history.fn(db, patient, 200)).content
    lang = profile.language
    events = [{"at": e.at.astimezone(zone).strftime("%d/%m/%Y %H:%M"), "who": e.who,
               "action": _t(lang, ACTIONS.get(e.action.split(".")[0], LOOKED))} for e in found]  # fmt: skip
    return page(request, settings, "patient/access_history.html", language=profile.language, me=patient, events=events)


# ---- data and settings -----------------------------------------------------------------------------------------------


async def _account_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal,
                        *, status: int = 200, **extra: Any) -> Template:  # fmt: skip
    profile = await _profile(db, me)
    lang = profile.language
    return page(request, settings, "patient/account.html", status=status, language=lang, me=me, profile=profile,
                languages=[("en", "English"), ("es", "Español")],
                conditions=_options(lang, catalog.CONDITIONS), **extra)  # fmt: skip


@get("/account", include_in_schema=False, dependencies=PATIENT)
async def account_page(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                       patient: Principal) -> Template:  # fmt: skip
    return await _account_page(request, db, settings, patient)


@post("/account/settings", include_in_schema=False, status_code=200, dependencies=PATIENT)
async def account_settings_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                                patient: Principal) -> Template:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    language = str(form.get("language") or profile.language)
    zone = str(form.get("time_zone") or "").strip()[:64]
    if not known_time_zone(zone):
        return await _account_page(request, db, settings, patient, status=422, errors=[
            _t(profile.language, "That time zone is unknown. Use a name such as Europe/Madrid.")])  # fmt: skip
    profile.language = language if language in {"en", "es"} else profile.language
    profile.time_zone = zone
    profile.conditions = _codes(form, "conditions", catalog.CONDITIONS)
    profile.version += 1
    from backend.db import utcnow
    from backend.shared.audit import audit_event

    profile.updated_at = utcnow()
    db.add(audit_event(patient, "profile.update", patient_id=patient.user_id))
    await db.commit()
    request.app.state.evaluator.schedule(patient.user_id)
    return await _account_page(request, db, settings, patient, message=_t(profile.language, "Settings saved."))


@post("/account/erase", include_in_schema=False, status_code=303, dependencies=PATIENT)
async def account_erase_form(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings,
                             patient: Principal) -> Response[Any]:  # fmt: skip
    form = await request.form()
    profile = await _profile(db, patient)
    confirm = str(form.get("confirm") or "").strip().lower()
    if confirm in {_t(profile.language, "erase my account").lower(), "erase my account"}:
        confirm = "erase my account"
    try:
        done = await erase_account.fn(request, db, settings, patient,
                                      EraseIn(password=str(form.get("password") or "")[:4096], confirm=confirm))  # fmt: skip
    except Problem as problem:
        await db.rollback()
        profile = await _profile(db, patient)  # the rollback expired it
        return await _account_page(request, db, settings, patient, status=problem.status_code,
                                   errors=_messages(problem, profile.language))  # fmt: skip
    return Redirect("/sign-in?erased=1", status_code=303, cookies=done.cookies, headers=dict(done.headers))


PATIENT_PAGE_ROUTES: list[Any] = [
    log_page, log_form, episode_page, episode_form, episode_delete_form, checkin_today, checkin_page, checkin_form,
    penn_page, penn_form, history_page, trends_page, more_page, sharing_page, sharing_code_form, sharing_accept_form,
    sharing_revoke_form, access_history_page, account_page, account_settings_form, account_erase_form, flag_read_form,
]  # fmt: skip
