"""GET /api/v1/sync: every record type, tombstones, paging, and refusals (the property lives in the state machine)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from tests.conftest import Api


async def everything(api: Api, since: str | None = None, limit: int = 200) -> tuple[dict[str, list[Any]], str]:
    found: dict[str, list[Any]] = {"episodes": [], "checkins": [], "penn": [], "regimens": [], "deleted": []}
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit, **({"since": since} if since else {})}
        answer = await api.get("/api/v1/sync", params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        page = answer.json()
        for key in found:
            found[key] += page[key]
        since = page["cursor"]
        if not page["more"]:
            return found, since
    raise AssertionError("never done")


def episode(hours_ago: int) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    return {
        "kind": "cramp",
        "started_at": start.isoformat(),
        "intensity": 3,
        "body_sites": [{"site": "calf", "side": "left"}],
    }


async def test_the_feed_carries_every_record_type_and_tombstones(patient: Api) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    for n, episode_id in enumerate(ids):
        assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(n + 1))).status_code == 201
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date()
    assert (
        await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "stiffness": 4})
    ).status_code == 201
    year, week, _ = day.isocalendar()
    assert (
        await patient.put(f"/api/v1/penn/{year}-W{week:02d}", json={"frequency": 1, "severity": 1})
    ).status_code == 201
    regimen_id = uuid.uuid4()
    regimen = {"kind": "stretching", "name": "Calf stretches", "start_date": day.isoformat()}
    assert (await patient.put(f"/api/v1/regimens/{regimen_id}", json=regimen)).status_code == 201

    first, cursor = await everything(patient)
    assert {e["id"] for e in first["episodes"]} >= {str(i) for i in ids}
    assert [c["day"] for c in first["checkins"]] == [day.isoformat()]
    assert first["penn"][0]["frequency"] == 1
    assert first["regimens"][0]["name"] == "Calf stretches"

    gone = await patient.delete(f"/api/v1/episodes/{ids[0]}", headers={"If-Match": '"1"'})
    assert gone.status_code == 204
    later, _ = await everything(patient, cursor)
    tombstones = [d for d in later["deleted"] if d["id"] == str(ids[0])]
    assert tombstones and tombstones[0]["type"] == "episode" and tombstones[0]["version"] == 2
    assert str(ids[0]) not in {e["id"] for e in later["episodes"]}


async def test_small_pages_deliver_every_record_once_at_least(patient: Api) -> None:
    made = {str(uuid.uuid4()) for _ in range(7)}
    for n, episode_id in enumerate(sorted(made)):
        assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(n + 1))).status_code == 201
    found, _ = await everything(patient, limit=2)
    assert made <= {e["id"] for e in found["episodes"]}


async def test_a_patient_sees_only_their_own_changes(patient: Api, other_patient: Api) -> None:
    mine = uuid.uuid4()
    assert (await patient.put(f"/api/v1/episodes/{mine}", json=episode(2))).status_code == 201
    theirs, _ = await everything(other_patient)
    assert str(mine) not in {e["id"] for e in theirs["episodes"]}


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"x": ["2026-01-01T00:00:00+00:00", None]}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"e": ["2026-01-01T00:00:00", None]}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"e": ["2026-01-01T00:00:00+00:00", "not-a-uuid"]}).encode()).decode(),
    ],
)
async def test_a_cursor_the_server_never_gave_is_refused_with_a_problem(patient: Api, cursor: str) -> None:
    answer = await patient.get("/api/v1/sync", params={"since": cursor})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "since"


async def test_anonymous_callers_get_401(browser: Any) -> None:
    anonymous: Api = await browser()
    assert (await anonymous.get("/api/v1/sync")).status_code == 401
