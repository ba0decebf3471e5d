"""One rule cannot silence the others: a rule that fails is reported (logged with its id, counted in /readyz, shown
to the clinician as "this rule could not be checked") and every other rule still runs; an urgent rule that fails on a
write answers with the general warning-sign advice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from backend.flags import engine
from backend.flags.models import RuleFailure
from backend.flags.services import UNCHECKED, evaluate_patient
from backend.flags.window import Diary
from tests.conftest import Api
from tests.flags import builders as b
from tests.flags.test_api import link
from tests.support.pages import page


def _boom(diary: Diary, t: Any) -> Any:
    raise ZeroDivisionError("a rule that divides by zero")


@pytest.fixture
def broken_rule(request: pytest.FixtureRequest) -> Iterator[str]:
    """Makes one rule (the test's parameter, R4 by default) fail, then puts it back."""
    rule_id = getattr(request, "param", "R4")
    original = engine.RULES[rule_id]
    engine.RULES[rule_id] = dataclasses.replace(original, evaluate=_boom)
    engine._rules_for.cache_clear()
    try:
        yield rule_id
    finally:
        engine.RULES[rule_id] = original
        engine._rules_for.cache_clear()


def test_a_failing_rule_is_reported_and_the_others_still_fire(broken_rule: str) -> None:
    d = b.diary(b.ep(1, intensity=8), b.ep(2, intensity=9), b.ep(0, symptoms=frozenset({"new_weakness"})))
    result = engine.evaluate(d)
    assert result.failed == {"R4": "ZeroDivisionError"}
    assert "R4" not in result.evaluated  # so its open flag does not recede either
    assert {"R3", "U4"} <= {f.rule_id for f in result.findings}


def _episode(days_ago: float, **fields: Any) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return {
        "kind": "spasm",
        "started_at": start.isoformat(),
        "intensity": 8,
        "body_sites": [{"site": "calf", "side": "left"}],
        **fields,
    }


async def test_the_clinician_and_the_operator_are_told_and_the_row_goes_once_it_runs_again(
    app: Litestar, patient: Api, clinician: Api, broken_rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    await link(app, patient, clinician)
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    for days_ago in (1, 2):
        assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=_episode(days_ago))).status_code == 201
    with caplog.at_level(logging.ERROR, logger="spasm.flags"):
        for _ in range(3):
            async with app.state.sessionmaker() as db:
                await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC))
    logged = [r for r in caplog.records if "R4" in r.getMessage()]
    assert len(logged) <= 1  # at most once an hour per rule and error in a process, whatever the number of patients
    base = f"/api/v1/patients/{patient_id}"
    flags = {f["rule_id"] for f in (await clinician.get(f"{base}/flags")).json()}
    assert "R3" in flags  # the other rules ran
    [failure] = (await clinician.get(f"{base}/rule-failures")).json()
    assert failure["rule_id"] == "R4" and failure["error"] == "ZeroDivisionError" and failure["failures"] >= 3
    ready = (await patient.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["rules_unchecked"]["R4"] >= 1
    [row] = [r for r in (await clinician.get("/api/v1/triage")).json() if r["patient_id"] == str(patient_id)]
    assert row["unchecked_rules"] == ["R4"]
    report = await page(clinician, f"/patients/{patient_id}/report")
    assert "This rule could not be checked" in report.text and "R4" in report.text

    engine.RULES["R4"] = _restored("R4")  # the fault mended: the next evaluation clears the notice
    engine._rules_for.cache_clear()
    async with app.state.sessionmaker() as db:
        await evaluate_patient(db, patient_id, dt.datetime.now(dt.UTC))
        assert (await db.execute(select(RuleFailure).where(RuleFailure.patient_id == patient_id))).first() is None
    assert (await clinician.get(f"{base}/rule-failures")).json() == []


def _restored(rule_id: str) -> Any:
    from backend.flags.rules.routine import ROUTINE_RULES

    return next(r for r in ROUTINE_RULES if r.id == rule_id)


@pytest.mark.parametrize("broken_rule", ["U9"], indirect=True)
async def test_an_urgent_rule_that_fails_on_a_write_answers_with_the_general_advice(
    patient: Api, broken_rule: str
) -> None:
    body = _episode(0.01, symptoms=["breathing_difficulty", "new_weakness"])
    answer = await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    assert answer.status_code == 201, answer.text
    safety = {n["rule_id"]: n["message"] for n in answer.json()["safety"]}
    assert safety["U9"] == UNCHECKED  # breathing: we could not check, so the general advice to get help now
    assert "medical help now" in safety["U4"]  # the other urgent rules ran and answered as ever
