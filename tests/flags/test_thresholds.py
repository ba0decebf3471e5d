"""Per-patient thresholds: every one has a declared range (published by GET /api/v1/rules); an override outside it
answers 422 naming the threshold and the range, and nothing changes; inside it, the rules run (the property over
random diaries is tests/flags/test_properties.py, section 6)."""

from __future__ import annotations

import datetime as dt
import uuid

from litestar import Litestar
from sqlalchemy import select

from backend.flags.engine import RULES
from backend.flags.models import RuleFailure, ThresholdOverride
from backend.flags.services import evaluate_patient
from tests.conftest import Api
from tests.flags.test_api import link


async def test_the_rule_catalog_publishes_every_thresholds_range(patient: Api) -> None:
    rules = {r["id"]: r for r in (await patient.get("/api/v1/rules")).json()}
    assert set(rules) == set(RULES)
    for rule_id, rule in RULES.items():
        published = rules[rule_id]["limits"]
        assert set(published) == set(rule.defaults)
        for name, limit in rule.limits.items():
            assert published[name] == {"min": limit.low, "max": limit.high, "whole": limit.whole, "words": limit.words}
    assert rules["U9"]["conditions"] == ["any"] and rules["U1"]["renewal"] == "entry"
    assert "spinal_cord_injury" in rules["U8"]["conditions"] and "multiple_sclerosis" not in rules["U8"]["conditions"]


async def test_every_threshold_at_its_limits_is_taken_and_past_them_is_refused(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    await link(app, patient, clinician)
    base = f"/api/v1/patients/{patient.user['id']}/thresholds"  # type: ignore[index]
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    for rule_id, rule in RULES.items():
        for name, limit in rule.limits.items():
            step = 1 if limit.whole else 0.01
            for value in (limit.low, limit.high):
                ok = await clinician.put(f"{base}/{rule_id}", json={"thresholds": {name: value}})
                assert ok.status_code == 200, (rule_id, name, value, ok.text)
            wrong = [limit.low - step, limit.high + step] + ([limit.low + 0.5] if limit.whole else [])
            for value in wrong:
                answer = await clinician.put(f"{base}/{rule_id}", json={"thresholds": {name: value}})
                assert answer.status_code == 422, (rule_id, name, value)
                problem = answer.json()
                assert problem["errors"][0]["field"] == f"thresholds.{name}"
                assert str(int(limit.low) if limit.whole else limit.low) in problem["errors"][0]["reason"]
                async with app.state.sessionmaker() as db:
                    stored = await db.get(ThresholdOverride, (patient_id, rule_id))
                    assert stored is not None and stored.thresholds[name] == limit.high  # the last good value


async def test_r4_count_zero_is_refused(app: Litestar, patient: Api, clinician: Api) -> None:
    """Regression (fixed): count 0 was accepted, and from then on every evaluation of the patient failed on a
    division by zero, silencing every soon and routine rule without anyone being told."""
    await link(app, patient, clinician)
    base = f"/api/v1/patients/{patient.user['id']}/thresholds"  # type: ignore[index]
    answer = await clinician.put(f"{base}/R4", json={"thresholds": {"count": 0}})
    assert answer.status_code == 422
    assert "from 1 to 50" in answer.json()["errors"][0]["reason"]
    below = await clinician.put(f"{base}/R7", json={"thresholds": {"review_every_days": 0.5}})
    assert below.status_code == 422 and below.json()["errors"][0]["field"] == "thresholds.review_every_days"


async def test_a_stored_value_from_before_the_ranges_never_stops_the_rules(app: Litestar, patient: Api) -> None:
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    async with app.state.sessionmaker() as db:
        db.add(
            ThresholdOverride(
                patient_id=patient_id,
                rule_id="R4",
                thresholds={"count": 0.0},
                set_by=patient_id,
                set_at=dt.datetime.now(dt.UTC),
            )
        )
        db.add(
            ThresholdOverride(
                patient_id=patient_id,
                rule_id="R7",
                thresholds={"review_every_days": 0.0},
                set_by=patient_id,
                set_at=dt.datetime.now(dt.UTC),
            )
        )
        await db.commit()
    for d in range(1, 6):  # four self-treated episodes with no relief: R4 at its default count
        body = {
            "kind": "cramp",
            "intensity": 5,
            "body_sites": [{"site": "calf", "side": "left"}],
            "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=d)).isoformat(),
            "treatments": [{"kind": "stretching", "relief": 0}],
        }
        assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201
    async with app.state.sessionmaker() as db:
        await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC))
        assert (await db.execute(select(RuleFailure).where(RuleFailure.patient_id == patient_id))).first() is None
    flags = {f["rule_id"] for f in (await patient.get("/api/v1/flags")).json()}
    assert "R4" in flags
