"""Flags on the clinician's pages: acknowledge, snooze (never an urgent flag), resolve with a note; and the patient's
thresholds page, each rule in words with its defaults, the range it allows and the value in force. Plain forms
calling the same lifecycle as the JSON API (lifecycle.py), decoded into the API's own Structs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.config import Settings
from backend.db import utcnow
from backend.diary.dependencies import TheSafety
from backend.flags import lifecycle
from backend.flags.engine import RULES, thresholds_for
from backend.flags.models import ThresholdOverride
from backend.flags.schemas import ThresholdsIn
from backend.shared import forms
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician
from backend.shared.i18n import N_, best_language, translate
from backend.shared.principal import Principal
from backend.shared.problems import Problem
from backend.shared.rendering import page

CLINICIAN = {"clinician": Provide(provide_clinician)}
SNOOZE_DAYS = {"7": 7, "14": 14, "28": 28}


@post(
    "/patients/{patient_id:uuid}/flags/{flag_id:uuid}/{action:str}",
    include_in_schema=False,
    status_code=303,
    dependencies=CLINICIAN,
)
async def flag_action_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    clinician: Principal,
    patient_id: uuid.UUID,
    flag_id: uuid.UUID,
    action: str,
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),
) -> Response[Any]:
    """The report page's buttons: acknowledge a flag, snooze it for some days, or resolve it with a note."""
    if action not in {"acknowledge", "resolve", "snooze"}:
        raise Problem(404, "Nothing lives at this address.", code="not-found")
    await require_link(db, clinician, patient_id, "annotate", f"flags.{action}", address=client_address(request))
    if action == "acknowledge":
        await lifecycle.acknowledge(db, clinician, patient_id, flag_id)
    elif action == "snooze":
        days = SNOOZE_DAYS.get(data.get("days", ""), 7)
        await lifecycle.snooze(db, clinician, patient_id, flag_id, utcnow() + dt.timedelta(days=days))
    else:
        await lifecycle.resolve(db, clinician, patient_id, flag_id, data.get("note", ""))
    back = data.get("back", "")
    if back == "flag":  # the form on the flag's own page goes back there
        return Redirect(f"/patients/{patient_id}/flags/{flag_id}", status_code=303)
    return Redirect(f"/patients/{patient_id}/report#flag-{flag_id}", status_code=303)


# ---- thresholds ---------------------------------------------------------------------------------------------------


def _value(value: float, whole: bool) -> str:
    return str(int(value)) if whole or float(value).is_integer() else f"{value:g}"


async def _thresholds_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    clinician: Principal,
    patient_id: uuid.UUID,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    saved: str | None = None,
) -> Template:
    patient = await db.get(User, patient_id)
    rows = await db.execute(select(ThresholdOverride).where(ThresholdOverride.patient_id == patient_id))
    overrides = {o.rule_id: dict(o.thresholds) for o in rows.scalars()}
    rules = []
    for rule in RULES.values():
        if not rule.limits:
            continue
        current = thresholds_for(rule, overrides)
        own = overrides.get(rule.id, {})
        rules.append(
            {
                "id": rule.id,
                "name": rule.name.replace("_", " ").capitalize(),
                "urgency": rule.urgency,
                "thresholds": [
                    {
                        "key": key,
                        "words": limit.words,
                        "default": _value(rule.defaults[key], limit.whole),
                        "low": _value(limit.low, limit.whole),
                        "high": _value(limit.high, limit.whole),
                        "whole": limit.whole,
                        "current": (typed or {}).get(rule.id, {}).get(key, _value(current[key], limit.whole)),
                        "changed": key in own and own[key] != rule.defaults[key],
                    }
                    for key, limit in rule.limits.items()
                    if key in rule.defaults
                ],
            }
        )
    return page(
        request,
        settings,
        "clinician/thresholds.html",
        status=status,
        me=clinician,
        patient=patient,
        rules=rules,
        errors=errors or {},
        saved=saved,
    )


@get("/patients/{patient_id:uuid}/thresholds", include_in_schema=False, dependencies=CLINICIAN)
async def thresholds_page(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, clinician: Principal, patient_id: uuid.UUID
) -> Template:
    await require_link(db, clinician, patient_id, "view", "thresholds.read", address=client_address(request))
    saved = request.query_params.get("saved")
    return await _thresholds_page(request, db, settings, clinician, patient_id, saved=saved if saved in RULES else None)


@post(
    "/patients/{patient_id:uuid}/thresholds/{rule_id:str}",
    include_in_schema=False,
    status_code=303,
    dependencies=CLINICIAN,
)
async def thresholds_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    safety: TheSafety,
    clinician: Principal,
    patient_id: uuid.UUID,
    rule_id: str,
) -> Response[Any]:
    """One rule's thresholds for this patient: all its values are checked against the rule's ranges before any is
    stored, so a value out of range changes nothing."""
    await require_link(db, clinician, patient_id, "annotate", "thresholds.update", address=client_address(request))
    rule = RULES.get(rule_id)
    if rule is None:
        raise Problem(404, "Nothing lives at this address.", code="not-found")
    form = await request.form()
    typed = {key: forms.text(form, key) or "" for key in rule.limits if key in rule.defaults}
    language = best_language(request.headers.get("accept-language"))
    values = {key: forms.number(form, key) for key in typed}
    lines = [
        translate(language, N_("%(name)s: type a number, such as 3 or 2.5")) % {"name": key}
        for key, v in values.items()
        if not isinstance(v, int | float)
    ]
    try:
        if lines:
            raise Problem(422, "not a number", code="invalid-data")
        own = await db.get(ThresholdOverride, (patient_id, rule_id))
        enabled = None if own is None or "enabled" not in own.thresholds else bool(own.thresholds["enabled"])
        data = forms.decode({"thresholds": values, "enabled": enabled}, ThresholdsIn)
        await lifecycle.set_thresholds(db, clinician, patient_id, rule_id, data)
    except Problem as problem:
        await db.rollback()
        for error in problem.errors:
            key = error.field.removeprefix("thresholds.")
            limit = rule.limits.get(key)
            if limit is None:
                lines.append(f"{key}: {error.reason}")
                continue
            words = (
                N_("%(name)s (%(words)s) must be a whole number from %(low)s to %(high)s")
                if limit.whole
                else N_("%(name)s (%(words)s) must be from %(low)s to %(high)s")
            )
            lines.append(
                translate(language, words)
                % {
                    "name": key,
                    "words": limit.words,
                    "low": _value(limit.low, limit.whole),
                    "high": _value(limit.high, limit.whole),
                }
            )
        if not lines:
            lines = forms.messages(problem, language, {})
        lines.append(translate(language, N_("Nothing was changed.")))
        return await _thresholds_page(
            request,
            db,
            settings,
            clinician,
            patient_id,
            status=422,
            errors={rule_id: lines},
            typed={rule_id: typed},
        )
    safety.schedule(patient_id)  # the flags follow the new thresholds
    return Redirect(f"/patients/{patient_id}/thresholds?saved={rule_id}#rule-{rule_id}", status_code=303)


ROUTES: list[Any] = [flag_action_form, thresholds_page, thresholds_form]
