"""What lies behind a flag, for the clinician: the flag's own page (what it says, its window, its history with notes
and who acted, the actions) listing the entries it rests on (date, time, kind, intensity, sites, triggers, treatment,
note), and each episode's full record. Every time on the patient's clock, the zone named."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, get
from litestar.di import Provide
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.config import Settings
from backend.diary import catalog
from backend.diary.display import where_text
from backend.diary.models import CheckIn, Episode, PatientProfile
from backend.diary.records import zone_of
from backend.flags.models import Flag
from backend.flags.reading import flag_histories
from backend.reports import wording
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician
from backend.shared.formats import Formats, on_clock
from backend.shared.i18n import N_, best_language, translate
from backend.shared.principal import Principal
from backend.shared.problems import not_found
from backend.shared.rendering import page

CLINICIAN = {"clinician": Provide(provide_clinician)}


def _labels(language: str, codes: list[str], table: dict[str, str]) -> str:
    return ", ".join(translate(language, table.get(c, c)) for c in codes)


def _treatments(language: str, treatments: list[dict[str, Any]]) -> list[str]:
    out = []
    for treatment in treatments:
        text = translate(language, catalog.TREATMENTS.get(treatment.get("kind", ""), treatment.get("kind", "")))
        if treatment.get("name"):
            text += f" ({treatment['name']}{', ' + treatment['dose'] if treatment.get('dose') else ''})"
        if treatment.get("relief") is not None:
            text += ", " + translate(language, N_("relief %(n)s of 10")) % {"n": treatment["relief"]}
        if treatment.get("minutes_to_relief") is not None:
            text += ", " + translate(language, N_("after %(n)s min")) % {"n": treatment["minutes_to_relief"]}
        out.append(text)
    return out


def _duration(e: Episode, language: str) -> str:
    if e.ongoing:
        return translate(language, N_("still going on when logged"))
    seconds = e.duration_seconds
    if seconds is None and e.ended_at is not None:
        seconds = int((e.ended_at - e.started_at).total_seconds())
    if seconds is None:
        return translate(language, N_("not given"))
    if seconds < 120:
        return translate(language, N_("%(n)s seconds")) % {"n": seconds}
    return translate(language, N_("%(n)s minutes")) % {"n": Formats(language).number(seconds / 60)}


def episode_row(e: Episode, zone: Any, language: str) -> dict[str, Any]:
    fmt = Formats(language)
    local = on_clock(e.started_at, zone)
    return {
        "id": e.id,
        "day": fmt.day(local.date()),
        "time": f"{fmt.clock(e.started_at, zone)} {fmt.zone_abbreviation(e.started_at, zone)}",
        "kind": translate(language, catalog.EPISODE_KINDS.get(e.kind, e.kind)),
        "intensity": e.intensity,
        "duration": _duration(e, language),
        "sites": where_text(language, [s for s in e.body_sites if s.get("site") in catalog.BODY_SITES]),
        "triggers": ", ".join([_labels(language, e.triggers, catalog.TRIGGERS), *(e.own_triggers or [])]).strip(", "),
        "treatments": "; ".join(_treatments(language, e.treatments)),
        "note": e.note or "",
    }


@get("/patients/{patient_id:uuid}/flags/{flag_id:uuid}", include_in_schema=False, dependencies=CLINICIAN)
async def flag_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    patient_id: uuid.UUID,
    flag_id: uuid.UUID,
) -> Template:
    link = await require_link(db, clinician, patient_id, "view", "flags.read", address=client_address(request))
    flag = await db.get(Flag, (patient_id, flag_id))
    if flag is None:
        raise not_found("flag")
    language = best_language(request.headers.get("accept-language"))
    zone = zone_of(await db.get(PatientProfile, patient_id))
    ids = [uuid.UUID(i) for i in flag.evidence_episodes]
    episodes = (
        (await db.execute(select(Episode).where(Episode.patient_id == patient_id, Episode.id.in_(ids)))).scalars().all()
        if ids
        else []
    )
    days = [dt.date.fromisoformat(d) for d in flag.evidence_days]
    checkins = (
        (await db.execute(select(CheckIn).where(CheckIn.patient_id == patient_id, CheckIn.day.in_(days))))
        .scalars()
        .all()
        if days
        else []
    )
    histories, names = await flag_histories(db, patient_id, [flag])
    fmt = Formats(language)
    return page(
        request,
        settings,
        "clinician/flag.html",
        language=language,
        me=clinician,
        patient=await db.get(User, patient_id),
        flag=flag,
        zone=zone,
        can_annotate="annotate" in link.scopes,
        entries=[
            episode_row(e, zone, language) | {"deleted": e.deleted_at is not None}
            for e in sorted(episodes, key=lambda e: e.started_at)
        ],
        checkins=[
            {
                "day": fmt.day(c.day),
                "stiffness": c.stiffness,
                "pain": c.pain,
                "sleep": c.sleep_disturbance,
                "meds": translate(language, catalog.MEDS_TAKEN.get(c.meds_taken, c.meds_taken)) if c.meds_taken else "",
                "symptoms": _labels(language, c.symptoms, catalog.SYMPTOMS),
                "no_episodes": c.no_episodes,
                "note": c.note or "",
            }
            for c in sorted(checkins, key=lambda c: c.day)
        ],
        history=histories[flag.id],
        names=names,
        urgency_words=translate(language, wording.URGENCY[flag.urgency]),
        rule_name=wording.rule_name(flag.rule_id, language),
        status_words=wording.words_of(wording.STATUS, flag.status, language),
        event_words={k: translate(language, v) for k, v in wording.EVENTS.items()},
    )


@get("/patients/{patient_id:uuid}/episodes/{episode_id:uuid}", include_in_schema=False, dependencies=CLINICIAN)
async def episode_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
) -> Template:
    """One episode's full record, as the patient entered it."""
    await require_link(db, clinician, patient_id, "view", "diary.read", address=client_address(request))
    e = await db.get(Episode, (patient_id, episode_id))
    if e is None:
        raise not_found("episode")
    language = best_language(request.headers.get("accept-language"))
    zone = zone_of(await db.get(PatientProfile, patient_id))
    fmt = Formats(language)
    recorded = dt.timezone(dt.timedelta(minutes=e.start_offset))
    row = episode_row(e, zone, language)
    t = translate
    woke = {True: N_("Yes"), False: N_("No"), None: N_("not given")}[e.woke_from_sleep]
    record = [
        (N_("Kind"), row["kind"]),
        (N_("Started"), fmt.moment_in_zone(e.started_at, zone)),
        (
            N_("On the phone's clock"),
            f"{e.started_at.astimezone(recorded).strftime('%H:%M')} (UTC{e.start_offset / 60:+g})",
        ),
        (N_("Ended"), fmt.moment_in_zone(e.ended_at, zone) if e.ended_at else t(language, N_("not given"))),
        (N_("Duration"), row["duration"]),
        (N_("Strength (0-10)"), str(e.intensity)),
        (N_("Where"), row["sites"]),
        (N_("Woke from sleep"), t(language, woke)),
        (N_("Triggers"), row["triggers"]),
        (N_("Other symptoms"), _labels(language, e.symptoms, catalog.SYMPTOMS)),
        (N_("What they were doing"), _labels(language, e.context, catalog.CONTEXTS)),
        (N_("What they did"), row["treatments"]),
        (N_("How it affected the day"), _labels(language, e.impacts, catalog.IMPACTS)),
        (N_("Note"), e.note or ""),
        (N_("Entered"), fmt.moment_in_zone(e.entered_at, zone)),
        (N_("Entered by"), t(language, N_("the patient")) if e.reporter == "patient" else e.reporter),
        (N_("Version"), str(e.version)),
    ]
    return page(
        request,
        settings,
        "clinician/episode.html",
        language=language,
        me=clinician,
        patient=await db.get(User, patient_id),
        episode=e,
        record=[(t(language, label), value) for label, value in record],
        deleted=e.deleted_at is not None,
        back=_uuid(request.query_params.get("flag")),
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


ROUTES: list[Any] = [flag_page, episode_page]
