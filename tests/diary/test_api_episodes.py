"""The episode API: idempotent PUT, versions, tombstones, lists, errors, and isolation between patients."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.diary.strategies import episodes, spoilers

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def url(episode_id: uuid.UUID | str) -> str:
    return f"/api/v1/episodes/{episode_id}"


def minimal(**overrides: Any) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    body = {
        "kind": "cramp",
        "started_at": start.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(),
        "intensity": 6,
        "body_sites": [{"site": "calf", "side": "left"}],
    }
    body.update(overrides)
    return body


def same_instant(sent: str, got: str) -> bool:
    a, b = dt.datetime.fromisoformat(sent), dt.datetime.fromisoformat(got)
    return a == b and a.utcoffset() == b.utcoffset()


def assert_round_trip(sent: dict[str, Any], got: dict[str, Any]) -> None:
    for key, value in sent.items():
        if key in {"started_at", "ended_at", "entered_at"}:
            assert same_instant(value, got[key]), (key, value, got[key])
        elif key == "treatments":
            expected = [{"name": None, "dose": None, "relief": None, "minutes_to_relief": None, **t} for t in value]
            assert got[key] == expected
        else:
            assert got[key] == value, (key, value, got[key])


@given(body=episodes())
@PROPERTY
async def test_any_valid_episode_round_trips_exactly(patient: Api, body: dict[str, Any]) -> None:
    episode_id = uuid.uuid4()
    created = await patient.put(url(episode_id), json=body)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert_round_trip(body, created.json())
    fetched = await patient.get(url(episode_id))
    assert fetched.status_code == 200
    assert_round_trip(body, fetched.json())
    assert fetched.json() == created.json()


@given(body=episodes(), spoil=st.sampled_from(spoilers()))
@PROPERTY
async def test_any_invalid_episode_is_refused_and_nothing_is_written(
    patient: Api, body: dict[str, Any], spoil: tuple[str, Any]
) -> None:
    field, make_bad = spoil
    episode_id = uuid.uuid4()
    response = await patient.put(url(episode_id), json=make_bad(body))
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == response.status_code
    assert any(e["field"].split("[")[0].split(".")[0] == field for e in problem["errors"]), problem
    assert (await patient.get(url(episode_id))).status_code == 404


@given(body=episodes(), times=st.integers(min_value=2, max_value=6))
@PROPERTY
async def test_replaying_a_put_leaves_one_row_and_the_same_answer(
    patient: Api, body: dict[str, Any], times: int
) -> None:
    episode_id = uuid.uuid4()
    answers = [await patient.put(url(episode_id), json=body) for _ in range(times)]
    assert {a.status_code for a in answers} == {201}
    assert all(a.json() == answers[0].json() for a in answers)
    start = dt.datetime.fromisoformat(body["started_at"])
    listed = await patient.get(
        "/api/v1/episodes",
        params={
            "from": (start - dt.timedelta(seconds=1)).isoformat(),
            "to": (start + dt.timedelta(seconds=1)).isoformat(),
        },
    )
    assert [e["id"] for e in listed.json()["items"]].count(str(episode_id)) == 1


async def test_update_needs_the_current_version(patient: Api) -> None:
    episode_id = uuid.uuid4()
    assert (await patient.put(url(episode_id), json=minimal())).status_code == 201
    changed = minimal(intensity=9)

    without = await patient.put(url(episode_id), json=changed)
    assert without.status_code == 428
    assert without.json()["current_version"] == 1

    updated = await patient.put(url(episode_id), json=changed, headers={"If-Match": '"1"'})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    assert updated.headers["etag"] == '"2"'

    stale = await patient.put(url(episode_id), json=minimal(intensity=3), headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert (await patient.get(url(episode_id))).json()["intensity"] == 9

    # The same update replayed (its answer was lost) is not a conflict: the content is already there.
    replay = await patient.put(url(episode_id), json=changed, headers={"If-Match": '"1"'})
    assert replay.status_code == 200
    assert replay.json()["version"] == 2


async def test_if_match_must_be_a_version(patient: Api) -> None:
    response = await patient.put(url(uuid.uuid4()), json=minimal(), headers={"If-Match": "yesterday"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad-if-match"


async def test_conditional_update_of_a_missing_episode_is_404(patient: Api) -> None:
    response = await patient.put(url(uuid.uuid4()), json=minimal(), headers={"If-Match": '"1"'})
    assert response.status_code == 404


async def test_delete_leaves_a_tombstone_that_a_replayed_create_cannot_revive(patient: Api) -> None:
    episode_id = uuid.uuid4()
    body = minimal()
    assert (await patient.put(url(episode_id), json=body)).status_code == 201
    assert (await patient.delete(url(episode_id), headers={"If-Match": '"1"'})).status_code == 204
    assert (await patient.get(url(episode_id))).status_code == 404
    assert (await patient.delete(url(episode_id))).status_code == 204  # a replayed delete
    revived = await patient.put(url(episode_id), json=body)
    assert revived.status_code == 410
    assert (await patient.get(url(episode_id))).status_code == 404


async def test_delete_with_a_stale_version_changes_nothing(patient: Api) -> None:
    episode_id = uuid.uuid4()
    await patient.put(url(episode_id), json=minimal())
    await patient.put(url(episode_id), json=minimal(intensity=2), headers={"If-Match": "1"})
    assert (await patient.delete(url(episode_id), headers={"If-Match": "1"})).status_code == 412
    assert (await patient.get(url(episode_id))).status_code == 200


async def test_another_patients_episode_answers_like_a_missing_one(patient: Api, other_patient: Api) -> None:
    episode_id = uuid.uuid4()
    body = minimal(note="private")
    assert (await patient.put(url(episode_id), json=body)).status_code == 201
    missing = uuid.uuid4()

    for target in (episode_id, missing):
        got = await other_patient.get(url(target))
        assert got.status_code == 404
        assert got.json()["detail"] == "No such episode."
        assert (await other_patient.delete(url(target))).status_code == 404
        changed = await other_patient.put(url(target), json=minimal(intensity=1), headers={"If-Match": '"1"'})
        assert changed.status_code == 404
    taken = await other_patient.put(url(episode_id), json=body)
    assert taken.status_code == 409
    assert "private" not in taken.text
    mine = await patient.get(url(episode_id))
    assert mine.json()["intensity"] == 6
    assert mine.json()["version"] == 1
    listed = await other_patient.get("/api/v1/episodes")
    assert str(episode_id) not in listed.text


async def test_list_is_paginated_newest_first_and_filters_by_date(patient: Api) -> None:
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20)
    ids = []
    for day in range(7):
        episode_id = uuid.uuid4()
        ids.append(str(episode_id))
        start = (base + dt.timedelta(days=day)).isoformat()
        assert (await patient.put(url(episode_id), json=minimal(started_at=start))).status_code == 201
    window = {"from": (base + dt.timedelta(days=1)).isoformat(), "to": (base + dt.timedelta(days=6)).isoformat()}
    seen: list[str] = []
    cursor = None
    while True:
        params = {**window, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await patient.get("/api/v1/episodes", params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids[1:6]))


async def test_list_refuses_bad_filters(patient: Api) -> None:
    bad = [
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-02-01T00:00:00"},
        {"limit": 0},
        {"limit": 10_000},
        {"cursor": "not-a-cursor"},
    ]
    for params in bad:
        response = await patient.get("/api/v1/episodes", params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert response.json()["errors"], params


async def test_writes_need_the_csrf_token(patient: Api) -> None:
    episode_id = uuid.uuid4()
    response = await patient.put(url(episode_id), json=minimal(), headers={"x-csrf-token": "forged"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf-failed"
    assert (await patient.get(url(episode_id))).status_code == 404


async def test_signed_out_callers_get_401(browser: Any) -> None:
    stranger: Api = await browser()
    await stranger.refresh_csrf()
    assert (await stranger.get(url(uuid.uuid4()))).status_code == 401
    assert (await stranger.put(url(uuid.uuid4()), json=minimal())).status_code == 401
    assert (await stranger.get("/api/v1/episodes")).status_code == 401


async def test_clinicians_do_not_keep_a_diary(clinician: Api) -> None:
    response = await clinician.put(url(uuid.uuid4()), json=minimal())
    assert response.status_code == 403


async def test_body_limits_and_content_type(patient: Api) -> None:
    huge = minimal(note="x" * 300_000)
    too_big = await patient.put(url(uuid.uuid4()), json=huge)
    assert too_big.status_code == 413
    as_form = await patient.put(url(uuid.uuid4()), content=b"kind=cramp", headers={"content-type": "text/plain"})
    assert as_form.status_code == 415
    broken = await patient.put(url(uuid.uuid4()), content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert broken.headers["content-type"].startswith("application/problem+json")


async def test_health_data_is_not_cached(patient: Api) -> None:
    episode_id = uuid.uuid4()
    await patient.put(url(episode_id), json=minimal())
    response = await patient.get(url(episode_id))
    assert response.headers["cache-control"] == "no-store"


async def test_a_note_that_reverses_its_own_direction_is_refused(patient: Api) -> None:
    """The same text check as the accounts' (validation.text_problem): a clinician reads what was written."""
    response = await patient.put(url(uuid.uuid4()), json=minimal(note="took \u202e01 ,gm 5 enfolcab"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["note"]
    arabic = await patient.put(url(uuid.uuid4()), json=minimal(note="\u200fتشنج في الساق"))
    assert arabic.status_code == 201, arabic.text
