"""R11 (data gap) measured from the diary: enrolment is the earlier of the account's creation and the first diary
day, and the notice recedes with the upload that fills the gap (CLINICAL.md (a), note 5), not days later."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from litestar import Litestar

from backend.flags.engine import RULES
from backend.flags.rules import routine
from tests.conftest import Api
from tests.flags import builders as b
from tests.support.pages import MADRID


def test_a_diary_older_than_its_account_can_have_a_gap() -> None:
    d = b.diary(b.days([8, 9, 10, 11, 12]), b.day(1), who=b.patient(enrolled_on=b.day_ago(30)))
    b.check(routine.data_gap(d, dict(RULES["R11"].defaults)), "R11")
    new = dataclasses.replace(d, patient=b.patient(enrolled_on=b.day_ago(3)))
    assert routine.data_gap(new, dict(RULES["R11"].defaults)) is None  # a diary begun three days ago has no gap yet


async def r11(patient: Api) -> list[dict[str, object]]:
    return [f for f in (await patient.get("/api/v1/flags", params={"status": "all"})).json() if f["rule_id"] == "R11"]


async def test_uploading_an_older_diary_raises_r11_and_filling_the_gap_lifts_it_at_once(
    app: Litestar, patient: Api
) -> None:
    """Regression (fixed): enrolment was the account's creation only, so a phone uploading weeks of an existing
    diary got no R11 for a week; once raised, the notice stayed for three days after the missing days arrived."""
    today = dt.datetime.now(MADRID).date()
    for back in range(8, 30):  # a diary kept on another phone for weeks, uploaded on the account's first day
        day = today - dt.timedelta(days=back)
        assert (await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True})).status_code == 201
    yesterday = today - dt.timedelta(days=1)
    await patient.put(f"/api/v1/checkins/{yesterday}", json={"no_episodes": True})
    await app.state.evaluator.drain()
    [raised] = await r11(patient)
    assert raised["status"] == "open"
    for back in (2, 3, 4):  # the missing days arrive
        body = {
            "kind": "spasm",
            "intensity": 3,
            "body_sites": [{"site": "calf", "side": "left"}],
            "started_at": dt.datetime.combine(today - dt.timedelta(days=back), dt.time(10), MADRID).isoformat(),
        }
        assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201
    await app.state.evaluator.drain()
    [lifted] = await r11(patient)
    assert lifted["status"] == "resolved" and lifted["id"] == raised["id"]
