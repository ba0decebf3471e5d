"""The check-in's "no episodes today" and an episode on the same day cannot both be stored: whichever comes second
answers 422 naming both, and nothing is saved; the forms say so in words and keep what was typed (and the log page
offers to untick the check-in and save the episode in one go)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.support.pages import MADRID, page, submit, today

SEQUENCES = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def at(day: dt.date, hour: int = 12, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), MADRID).isoformat()


def episode(day: dt.date, hour: int = 12, minute: int = 0) -> dict[str, Any]:
    return {
        "kind": "spasm",
        "started_at": at(day, hour, minute),
        "intensity": 4,
        "body_sites": [{"site": "calf", "side": "left"}],
    }


async def test_no_episodes_on_a_day_with_episodes_is_refused_naming_both(patient: Api) -> None:
    day = today() - dt.timedelta(days=2)
    ids = [uuid.uuid4(), uuid.uuid4()]
    for i, episode_id in enumerate(ids):
        assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(day, 9 + i))).status_code == 201
    answer = await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True, "stiffness": 3})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "contradiction"
    assert [e["field"] for e in problem["errors"]] == ["no_episodes", "episodes"]
    assert "2 episodes are logged on" in problem["detail"]
    assert sorted(problem["episodes"]) == sorted(str(i) for i in ids)
    assert (await patient.get(f"/api/v1/checkins/{day}")).status_code == 404  # nothing saved
    fine = await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "stiffness": 3})
    assert fine.status_code == 201


async def test_an_episode_on_a_no_episodes_day_is_refused_naming_both(patient: Api) -> None:
    day = today() - dt.timedelta(days=3)
    assert (await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True})).status_code == 201
    episode_id = uuid.uuid4()
    answer = await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(day, 23, 30))
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "contradiction" and problem["day"] == day.isoformat()
    assert [e["field"] for e in problem["errors"]] == ["started_at", "checkin.no_episodes"]
    assert (await patient.get(f"/api/v1/episodes/{episode_id}")).status_code == 404
    # The next local day is another day, even though 00:30 in Madrid is still the day before in UTC.
    after_midnight = episode(day + dt.timedelta(days=1), 0, 30)
    assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=after_midnight)).status_code == 201


async def test_moving_an_episode_onto_a_no_episodes_day_is_refused(patient: Api) -> None:
    day = today() - dt.timedelta(days=4)
    episode_id = uuid.uuid4()
    assert (
        await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(day - dt.timedelta(days=1)))
    ).status_code == 201
    assert (await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True})).status_code == 201
    moved = await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(day), headers={"If-Match": '"1"'})
    assert moved.status_code == 422 and moved.json()["code"] == "contradiction"
    assert (await patient.get(f"/api/v1/episodes/{episode_id}")).json()["version"] == 1


async def test_a_deleted_episode_no_longer_counts(patient: Api) -> None:
    day = today() - dt.timedelta(days=5)
    episode_id = uuid.uuid4()
    await patient.put(f"/api/v1/episodes/{episode_id}", json=episode(day))
    assert (await patient.delete(f"/api/v1/episodes/{episode_id}")).status_code == 204
    assert (await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True})).status_code == 201


@SEQUENCES
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["episode", "none", "some", "delete"]), st.integers(1, 2)), min_size=1, max_size=8
    )
)
async def test_no_sequence_of_writes_stores_a_contradiction(browser: Any, steps: list[tuple[str, int]]) -> None:
    api: Api = await browser()
    await api.register("patient")
    live: dict[int, list[str]] = {1: [], 2: []}
    for action, back in steps:
        day = today() - dt.timedelta(days=back)
        if action == "episode":
            episode_id = str(uuid.uuid4())
            answer = await api.put(f"/api/v1/episodes/{episode_id}", json=episode(day, 8 + len(live[back])))
            if answer.status_code == 201:
                live[back].append(episode_id)
        elif action == "delete" and live[back]:
            answer = await api.delete(f"/api/v1/episodes/{live[back].pop()}")
        elif action == "delete":
            continue
        else:
            current = await api.get(f"/api/v1/checkins/{day}")
            headers = {"If-Match": f'"{current.json()["version"]}"'} if current.status_code == 200 else {}
            answer = await api.put(f"/api/v1/checkins/{day}", json={"no_episodes": action == "none"}, headers=headers)
        assert answer.status_code in {200, 201, 204, 422}, answer.text
        if answer.status_code == 422:
            assert answer.json()["code"] == "contradiction"
        for d, ids in live.items():
            stored = await api.get(f"/api/v1/checkins/{today() - dt.timedelta(days=d)}")
            says_none = stored.status_code == 200 and stored.json()["no_episodes"]
            assert not (says_none and ids), (steps, d)


async def test_the_check_in_form_says_it_in_words_and_keeps_what_was_typed(patient: Api) -> None:
    day = today() - dt.timedelta(days=6)
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=episode(day))
    shown = await submit(patient, f"/check-in/{day}", {"no_episodes": "yes", "stiffness": "6", "note": "long day"})
    assert shown.status_code == 422
    assert "but your diary already has episodes on this day (1)" in shown.text
    assert '<input type="radio" name="stiffness" value="6"  checked>' in shown.text
    assert ">long day</textarea>" in shown.text
    assert f'href="/history?before={day + dt.timedelta(days=1)}"' in shown.text
    assert (await patient.get(f"/api/v1/checkins/{day}")).status_code == 404


async def test_the_log_form_offers_to_untick_the_check_in_and_save_in_one_go(patient: Api) -> None:
    day = dt.datetime.now(MADRID).date()
    await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": True, "stiffness": 2, "note": "quiet"})
    episode_id = str(uuid.uuid4())
    form = {"id": episode_id, "intensity": "7", "where": "calf:left", "ago": "0"}
    refused = await submit(patient, "/log", form)
    assert refused.status_code == 422
    assert "says “no spasms or cramps”. Your entry is still here" in refused.text
    assert 'name="untick_checkin" value="1"' in refused.text
    assert 'value="7" checked' in refused.text  # what was typed is still chosen
    assert (await patient.get(f"/api/v1/episodes/{episode_id}")).status_code == 404
    saved = await submit(patient, "/log", {**form, "untick_checkin": "1"})
    assert saved.status_code == 303, saved.text
    assert (await patient.get(f"/api/v1/episodes/{episode_id}")).status_code == 200
    checkin = (await patient.get(f"/api/v1/checkins/{day}")).json()
    assert checkin["no_episodes"] is False and checkin["stiffness"] == 2 and checkin["note"] == "quiet"
    assert checkin["version"] == 2
    assert (await page(patient, saved.headers["location"])).status_code == 200
