"""A judgment stands for the evidence it saw (CLINICAL.md (a), implementation note 5, as corrected on 2026-12-04).

A clinician's resolve, acknowledge or snooze, and the patient's own "I've read this", cover the signs the flag held
at that moment. Entries the judgment did not cover (new ones, or ones that arrived later) can bring the rule back:
as a new flag linking to the resolved one, or by reopening the acknowledged or snoozed one; the judged entries never
do. End to end over HTTP, with the clinician's actions through the API, and the property over random sequences of
unrelated entries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import select

from backend.flags import lifecycle
from backend.flags.models import Flag, FlagEvent
from backend.flags.services import evaluate_patient
from tests.conftest import Api
from tests.flags.test_api import link

JUDGED = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
QUIET_SITES = [("calf", "left"), ("thigh", "right"), ("lower_back", "middle"), ("foot", "right"), ("shin", "left")]


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(**delta)).isoformat()


def prolonged(minutes: int = 15, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "cramp",
        "started_at": ago(hours=2),
        "intensity": 6,
        "duration_seconds": minutes * 60,
        "body_sites": [{"site": "calf", "side": "left"}],
        **fields,
    }


@st.composite
def unrelated(draw: st.DrawFn) -> dict[str, Any]:
    """An entry that carries no sign of U1 (prolonged) or R8 (wasting): a quick spasm somewhere ordinary."""
    site, side = draw(st.sampled_from(QUIET_SITES))
    return {
        "kind": draw(st.sampled_from(["spasm", "flexor_spasm", "extensor_spasm", "clonus", "stiffness_flare"])),
        "started_at": ago(minutes=draw(st.integers(1, 60 * 24 * 5))),
        "intensity": draw(st.integers(0, 10)),
        "duration_seconds": draw(st.none() | st.integers(1, 600)),
        "body_sites": [{"site": site, "side": side}],
        "triggers": draw(st.sampled_from([[], ["stress"], ["fatigue"], ["walking"]])),
    }


async def linked_pair(app: Litestar, browser: Any, clinician: Api) -> tuple[Api, str]:
    patient: Api = await browser()
    await patient.register("patient")
    await link(app, patient, clinician)
    return patient, f"/api/v1/patients/{patient.user['id']}"  # type: ignore[index]


async def flags_of(clinician: Api, base: str, rule_id: str) -> list[dict[str, Any]]:
    answer = await clinician.get(f"{base}/flags", params={"status": "all"})
    assert answer.status_code == 200, answer.text
    return [f for f in answer.json() if f["rule_id"] == rule_id]


async def settle(app: Litestar) -> None:
    """The full evaluation that follows every write, now (the sweep would run it too)."""
    await app.state.evaluator.drain()


async def put(patient: Api, body: dict[str, Any]) -> dict[str, Any]:
    answer = await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


@JUDGED
@given(entries=st.lists(unrelated(), max_size=6))
async def test_a_resolved_flag_stays_resolved_until_a_new_qualifying_entry(
    app: Litestar, browser: Any, clinician: Api, entries: list[dict[str, Any]]
) -> None:
    patient, base = await linked_pair(app, browser, clinician)
    cramp = await put(patient, prolonged())
    assert [s["rule_id"] for s in cramp["safety"]] == ["U1"]
    [u1] = await flags_of(clinician, base, "U1")
    note = "Phoned: it eased with stretching; no further action."
    assert (await clinician.post(f"{base}/flags/{u1['id']}/resolve", json={"note": note})).status_code == 200

    for body in entries:  # unrelated entries, however many: the resolution stands
        assert (await put(patient, body))["safety"] == []
        await settle(app)
    [resolved] = await flags_of(clinician, base, "U1")
    assert resolved["status"] == "resolved" and resolved["resolution_note"] == note
    assert resolved["resolved_by_name"] == clinician.user["display_name"]  # type: ignore[index]
    last = resolved["history"][-1]
    assert (last["action"], last["note"], last["actor_name"]) == ("resolved", note, resolved["resolved_by_name"])
    assert (await patient.get(f"/api/v1/episodes/{cramp['id']}")).json()["safety"] == []

    second = await put(patient, prolonged(12))  # a new qualifying entry: a new flag, on that entry only
    assert [s["rule_id"] for s in second["safety"]] == ["U1"]
    await settle(app)
    again, old = await flags_of(clinician, base, "U1")
    assert again["status"] == "open" and old["id"] == u1["id"]
    assert again["previous_id"] == u1["id"] and again["history"][0]["action"] == "raised-again"
    assert again["evidence_episodes"] == [second["id"]]
    assert (await patient.get(f"/api/v1/episodes/{cramp['id']}")).json()["safety"] == []


@JUDGED
@given(entries=st.lists(unrelated(), max_size=5))
async def test_an_acknowledged_flag_reopens_only_for_new_evidence(
    app: Litestar, browser: Any, clinician: Api, entries: list[dict[str, Any]]
) -> None:
    patient, base = await linked_pair(app, browser, clinician)
    await put(patient, prolonged())
    [u1] = await flags_of(clinician, base, "U1")
    assert (await clinician.post(f"{base}/flags/{u1['id']}/acknowledge")).json()["status"] == "acknowledged"
    for body in entries:
        await put(patient, body)
        await settle(app)
    [still] = await flags_of(clinician, base, "U1")
    assert still["status"] == "acknowledged"
    assert "new-evidence" not in [h["action"] for h in still["history"]]
    await put(patient, prolonged(20))
    await settle(app)
    [reopened] = await flags_of(clinician, base, "U1")
    assert reopened["status"] == "open" and reopened["id"] == u1["id"]
    assert reopened["history"][-1]["action"] in {"new-evidence", "updated"}
    assert "new-evidence" in [h["action"] for h in reopened["history"]]


@JUDGED
@given(entries=st.lists(unrelated(), max_size=5))
async def test_a_snoozed_flag_wakes_early_only_for_new_evidence(
    app: Litestar, browser: Any, clinician: Api, entries: list[dict[str, Any]]
) -> None:
    patient, base = await linked_pair(app, browser, clinician)
    wasting = {**prolonged(1), "kind": "stiffness_flare", "symptoms": ["muscle_wasting"]}
    await put(patient, wasting)
    await settle(app)
    [r8] = await flags_of(clinician, base, "R8")
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat()
    snoozed = await clinician.post(f"{base}/flags/{r8['id']}/snooze", json={"until": until, "note": "at the visit"})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "snoozed"
    for body in entries:
        await put(patient, body)
        await settle(app)
    [still] = await flags_of(clinician, base, "R8")
    assert still["status"] == "snoozed"
    await put(patient, {**wasting, "started_at": ago(minutes=5)})
    await settle(app)
    [woken] = await flags_of(clinician, base, "R8")
    assert woken["status"] == "open" and woken["snoozed_until"] is None


@JUDGED
@given(entries=st.lists(unrelated(), max_size=5))
async def test_ive_read_this_holds_until_something_new(
    app: Litestar, browser: Any, clinician: Api, entries: list[dict[str, Any]]
) -> None:
    patient, _base = await linked_pair(app, browser, clinician)
    await put(patient, prolonged())
    [mine] = [f for f in (await patient.get("/api/v1/flags")).json() if f["rule_id"] == "U1"]
    assert mine["read"] is False
    read = await patient.post(f"/api/v1/flags/{mine['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    for body in entries:
        await put(patient, body)
        await settle(app)
    [still] = [f for f in (await patient.get("/api/v1/flags")).json() if f["rule_id"] == "U1"]
    assert still["read"] is True
    await put(patient, prolonged(25))
    await settle(app)
    [unread] = [f for f in (await patient.get("/api/v1/flags")).json() if f["rule_id"] == "U1"]
    assert unread["read"] is False and unread["id"] == mine["id"]


async def test_a_resolved_pattern_comes_back_only_as_a_fresh_pattern(
    app: Litestar, browser: Any, clinician: Api
) -> None:
    """R1 (frequent episodes) is a pattern: once resolved, each further episode of the same fortnight does not bring
    it back; a whole new fortnight of frequent episodes, none of them judged, does."""
    patient, _ = await linked_pair(app, browser, clinician)
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    # Noon UTC today: the same calendar day in UTC and in the patient's Madrid, whatever the hour the test runs
    # (after 22:00 or 23:00 UTC, Madrid is already on the next day, and every window would shift by one).
    real_now = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)

    def on(days_ago: int, hour: int = 12) -> str:
        return (real_now - dt.timedelta(days=days_ago)).replace(hour=hour).isoformat()

    async def log(days: list[int]) -> None:
        for d in days:
            await put(
                patient,
                {
                    "kind": "spasm",
                    "started_at": on(d),
                    "intensity": 4,
                    "body_sites": [{"site": "calf", "side": "left"}],
                },
            )

    for d in range(28, 44):  # a complete diary, so that the data guard lets R1 run
        day = (real_now - dt.timedelta(days=d)).date()
        assert (await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": False})).status_code == 201
    await log([42, 41, 40, 35, 34, 33])  # 3 and 3 in the fortnight ending 29 days ago
    then = real_now - dt.timedelta(days=29)
    async with app.state.sessionmaker() as db:
        await evaluate_patient(db, patient_id, then)
        flag = (await db.execute(select(Flag).where(Flag.patient_id == patient_id, Flag.rule_id == "R1"))).scalar_one()
        await lifecycle.resolve(db, _principal(clinician), patient_id, flag.id, "Known; plan in place.")
    await log([30])  # one more of the same pattern, a day later
    async with app.state.sessionmaker() as db:
        await evaluate_patient(db, patient_id, then + dt.timedelta(days=1))
        assert await _live(db, patient_id, "R1") == []
    for d in range(14, 28):
        day = (real_now - dt.timedelta(days=d)).date()
        await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": False})
    await log([26, 25, 23, 20, 18, 16])  # a fresh fortnight, 3 and 3, none of it judged
    async with app.state.sessionmaker() as db:
        await evaluate_patient(db, patient_id, real_now - dt.timedelta(days=15))
        [again] = await _live(db, patient_id, "R1")
        assert again.previous_id == flag.id
        events = (await db.execute(select(FlagEvent.action).where(FlagEvent.flag_id == again.id))).scalars().all()
        assert events == ["raised-again"]


def _principal(api: Api) -> Any:
    from backend.shared.principal import Principal

    user = api.user or {}
    return Principal(uuid.UUID(user["id"]), "clinician", user["display_name"], user["email"], "")


async def _live(db: Any, patient_id: uuid.UUID, rule_id: str) -> list[Flag]:
    query = select(Flag).where(Flag.patient_id == patient_id, Flag.rule_id == rule_id, Flag.status != "resolved")
    return list((await db.execute(query)).scalars())
