"""Flags end to end: raised on write with the safety message in the answer, updated not duplicated, seen by linked
clinicians only, acknowledged, snoozed, resolved by hand or when the pattern recedes, thresholds per patient."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy import func, select, update

from backend.flags.models import Flag
from backend.flags.services import evaluate_patient, sweep
from backend.shared.access import CareLink
from tests.conftest import Api


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


def cramp(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "cramp",
        "started_at": ago(hours=1),
        "intensity": 6,
        "body_sites": [{"site": "calf", "side": "left"}],
        **fields,
    }


async def link(app: Litestar, patient: Api, clinician: Api, scopes: list[str] | None = None) -> None:
    now = dt.datetime.now(dt.UTC)
    async with app.state.sessionmaker() as db:
        db.add(
            CareLink(
                patient_id=uuid.UUID(patient.user["id"]),
                clinician_id=uuid.UUID(clinician.user["id"]),  # type: ignore[index]
                status="active",
                scopes=scopes or ["view", "annotate", "notify", "export"],
                consent_version="1",
                consented_at=now,
                created_at=now,
            )
        )
        await db.commit()


async def live_flags(app: Litestar, patient: Api, rule_id: str) -> int:
    async with app.state.sessionmaker() as db:
        return (
            await db.execute(
                select(func.count())
                .select_from(Flag)
                .where(
                    Flag.patient_id == uuid.UUID(patient.user["id"]),
                    Flag.rule_id == rule_id,  # type: ignore[index]
                    Flag.status != "resolved",
                )
            )
        ).scalar_one()


async def test_a_red_flag_episode_gets_safety_advice_in_the_answer_to_that_write(app: Litestar, patient: Api) -> None:
    episode_id = uuid.uuid4()
    body = cramp(duration_seconds=15 * 60)
    created = await patient.put(f"/api/v1/episodes/{episode_id}", json=body)
    assert created.status_code == 201
    safety = created.json()["safety"]
    assert [s["rule_id"] for s in safety] == ["U1"]
    assert "10 minutes" in safety[0]["message"] and "medical help now" in safety[0]["message"]
    fetched = await patient.get(f"/api/v1/episodes/{episode_id}")
    assert fetched.json()["safety"] == safety
    for _ in range(3):  # replays update the open flag; they never add a second one
        assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201
    assert await live_flags(app, patient, "U1") == 1
    mine = (await patient.get("/api/v1/flags")).json()
    u1 = next(f for f in mine if f["rule_id"] == "U1")
    assert u1["status"] == "open" and u1["urgency"] == "urgent"
    assert u1["evidence_episodes"] == [str(episode_id)]


async def test_an_ordinary_episode_gets_no_safety_message(patient: Api) -> None:
    created = await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=60))
    assert created.json()["safety"] == []


async def test_a_check_in_with_new_weakness_gets_safety_advice(patient: Api) -> None:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    answer = await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True, "symptoms": ["new_weakness"]})
    assert answer.status_code == 201, answer.text
    assert [s["rule_id"] for s in answer.json()["safety"]] == ["U4"]


async def test_an_ongoing_episode_is_flagged_by_the_sweep_once_it_passes_ten_minutes(
    app: Litestar, patient: Api
) -> None:
    episode_id = uuid.uuid4()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    created = await patient.put(
        f"/api/v1/episodes/{episode_id}", json=cramp(started_at=start.isoformat(), ongoing=True)
    )
    assert created.json()["safety"] == []
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    assert await sweep(app.state.sessionmaker, start + dt.timedelta(minutes=9), [patient_id]) == 1
    assert await live_flags(app, patient, "U1") == 0
    await sweep(app.state.sessionmaker, start + dt.timedelta(minutes=11), [patient_id])
    assert await live_flags(app, patient, "U1") == 1


async def test_clinicians_see_flags_only_through_an_active_link(app: Litestar, patient: Api, clinician: Api) -> None:
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=20 * 60))
    url = f"/api/v1/patients/{patient.user['id']}/flags"  # type: ignore[index]
    unlinked = await clinician.get(url)
    assert unlinked.status_code == 404
    missing = await clinician.get(f"/api/v1/patients/{uuid.uuid4()}/flags")
    assert missing.status_code == 404 and missing.json()["detail"] == unlinked.json()["detail"]
    assert (await patient.get(url)).status_code == 403  # patients do not use the clinician routes

    await link(app, patient, clinician)
    flags = (await clinician.get(url)).json()
    u1 = next(f for f in flags if f["rule_id"] == "U1")
    assert u1["message"] != u1["patient_message"]
    assert u1["thresholds"] == {"minutes": 10, "no_relief_max": 1}
    assert u1["rule_version"] == 1 and u1["history"][0]["action"] == "raised"


async def test_flag_lifecycle_acknowledge_resolve_and_raise_again(app: Litestar, patient: Api, clinician: Api) -> None:
    await link(app, patient, clinician)
    body = cramp(duration_seconds=12 * 60)
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    base = f"/api/v1/patients/{patient.user['id']}"  # type: ignore[index]
    flag = next(f for f in (await clinician.get(f"{base}/flags")).json() if f["rule_id"] == "U1")

    acked = await clinician.post(f"{base}/flags/{flag['id']}/acknowledge")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    no_note = await clinician.post(f"{base}/flags/{flag['id']}/resolve", json={"note": "   "})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    snooze = await clinician.post(f"{base}/flags/{flag['id']}/snooze", json={"until": ago(days=-2)})
    assert snooze.status_code == 409  # urgent flags are never snoozed
    resolved = await clinician.post(f"{base}/flags/{flag['id']}/resolve", json={"note": "Phoned; seen in A&E."})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert [h["action"] for h in resolved.json()["history"]] == ["raised", "acknowledged", "resolved"]

    # A new prolonged episode raises a new flag; the resolved one stays in the history.
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    every = (await clinician.get(f"{base}/flags", params={"status": "all"})).json()
    assert [f["status"] for f in every if f["rule_id"] == "U1"] == ["open", "resolved"]


async def test_a_flag_closes_by_itself_once_the_pattern_has_receded(app: Litestar, patient: Api) -> None:
    episode_id = uuid.uuid4()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    await patient.put(f"/api/v1/episodes/{episode_id}", json=cramp(started_at=start.isoformat(), duration_seconds=900))
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=9)
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(Flag)
            .where(Flag.patient_id == patient_id, Flag.rule_id == "U1")
            .values(last_fired_at=later - dt.timedelta(days=8))
        )
        await db.commit()
    await sweep(app.state.sessionmaker, later, [patient_id])
    flags = (await patient.get("/api/v1/flags", params={"status": "all"})).json()
    u1 = next(f for f in flags if f["rule_id"] == "U1")
    assert u1["status"] == "resolved"


async def test_a_clinician_can_change_a_threshold_for_one_patient(app: Litestar, patient: Api, clinician: Api) -> None:
    await link(app, patient, clinician)
    base = f"/api/v1/patients/{patient.user['id']}"  # type: ignore[index]
    bad = await clinician.put(f"{base}/thresholds/U1", json={"thresholds": {"hours": 3}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "thresholds.hours"
    assert (await clinician.put(f"{base}/thresholds/U99", json={"thresholds": {}})).status_code == 404
    ok = await clinician.put(f"{base}/thresholds/U1", json={"thresholds": {"minutes": 20}})
    assert ok.status_code == 200 and ok.json()["thresholds"]["minutes"] == 20
    fifteen = await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=15 * 60))
    assert fifteen.json()["safety"] == []
    thirty = await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=30 * 60))
    assert [s["rule_id"] for s in thirty.json()["safety"]] == ["U1"]


async def test_a_view_only_link_cannot_change_flags(app: Litestar, patient: Api, clinician: Api) -> None:
    await link(app, patient, clinician, scopes=["view"])
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=900))
    base = f"/api/v1/patients/{patient.user['id']}"  # type: ignore[index]
    flag = (await clinician.get(f"{base}/flags")).json()[0]
    assert (await clinician.post(f"{base}/flags/{flag['id']}/acknowledge")).status_code == 404


async def test_evaluating_twice_keeps_one_live_flag_per_rule(app: Litestar, patient: Api) -> None:
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(duration_seconds=900))
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    now = dt.datetime.now(dt.UTC)
    for _ in range(2):
        async with app.state.sessionmaker() as db:
            await evaluate_patient(db, patient_id, now)
    assert await live_flags(app, patient, "U1") == 1


async def test_the_rule_catalog_lists_every_rule_with_its_source() -> None:
    from backend.flags.engine import RULES

    ids = set(RULES)
    assert {f"U{i}" for i in range(1, 11)} | {f"S{i}" for i in range(1, 7)} | {f"R{i}" for i in range(1, 12)} == ids
    assert all(rule.source and rule.version >= 1 for rule in RULES.values())


async def test_measures_count_the_patients_local_days_and_set_the_penn_band_beside_the_self_rating(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    madrid = dt.timezone(dt.timedelta(hours=1))
    yesterday = (dt.datetime.now(madrid) - dt.timedelta(days=1)).replace(hour=23, minute=30, second=0, microsecond=0)
    for minutes in (0, 10, 20):  # 23:30-23:50 local: the same local day although 22:30-22:50 UTC
        start = yesterday + dt.timedelta(minutes=minutes)
        await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(started_at=start.isoformat()))
    week = yesterday.date().isocalendar()
    await patient.put(f"/api/v1/penn/{week.year}-W{week.week:02d}", json={"frequency": 2, "severity": 1})
    got = (await patient.get("/api/v1/measures", params={"days": 7})).json()
    assert got["daily_counts"][yesterday.date().isoformat()] == 3
    assert sum(got["daily_counts"].values()) == 3
    assert got["weekly_counts"] == [3]
    assert got["days_logged_last_7"] == 1
    assert got["psfs_from_log"] == 2 and got["psfs_self_rated"] == 2
    assert (await patient.get("/api/v1/measures", params={"days": 3})).status_code == 400
    url = f"/api/v1/patients/{patient.user['id']}/measures"  # type: ignore[index]
    assert (await clinician.get(url)).status_code == 404
    await link(app, patient, clinician)
    assert (await clinician.get(url, params={"days": 7})).json()["daily_counts"] == got["daily_counts"]


async def test_routine_rules_run_after_the_answer(app: Litestar, patient: Api) -> None:
    for hours in (30, 5):
        await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp(started_at=ago(hours=hours), intensity=8))
    await app.state.evaluator.drain()
    flags = (await patient.get("/api/v1/flags")).json()
    r3 = next(f for f in flags if f["rule_id"] == "R3")
    assert r3["urgency"] == "routine" and len(r3["evidence_episodes"]) == 2


async def test_a_burst_of_writes_shares_one_evaluation(app: Litestar) -> None:
    from backend.flags import evaluator as module

    calls: list[uuid.UUID] = []

    async def count(maker: Any, patient_id: uuid.UUID) -> None:
        calls.append(patient_id)

    burst = module.Evaluator(app.state.sessionmaker, delay_seconds=0.05, evaluate=count)
    first, second = uuid.uuid4(), uuid.uuid4()
    for _ in range(50):
        burst.schedule(first)
    burst.schedule(second)
    await burst.drain()
    assert sorted(calls) == sorted([first, second])
    burst.schedule(first)  # a later write gets its own evaluation
    await burst.drain()
    assert calls.count(first) == 2
