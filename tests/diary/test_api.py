"""The diary records other than episodes: daily check-ins, weekly Penn ratings, regimens, the profile and the catalog.

Each record kind is driven through its whole life over HTTP (create, replay, versioned update, refusals, isolation
between patients) and every refusal is checked to be an RFC 9457 problem that names the field at fault.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar

from backend.diary import catalog
from backend.diary.api import ROUTES as DIARY_ROUTES
from tests.conftest import Api
from tests.diary.strategies import offsets

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
NOW = dt.datetime.now(dt.UTC)
OLDEST_DAYS = 3660  # validation.OLDEST: older than this is refused as "more than 10 years ago"


# --------------------------------------------------------------------------------------------------------- helpers


def today() -> dt.date:
    """The server's idea of today: the UTC date."""
    return dt.datetime.now(dt.UTC).date()


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def checkin_url(day: dt.date | str) -> str:
    return f"/api/v1/checkins/{day}"


def penn_url(week: str) -> str:
    return f"/api/v1/penn/{week}"


def regimen_url(regimen_id: uuid.UUID | str) -> str:
    return f"/api/v1/regimens/{regimen_id}"


PROFILE = "/api/v1/profile"

_days_back = itertools.count(2)


def fresh_day() -> dt.date:
    """A day nobody in this run has used yet, so that examples sharing a patient never collide."""
    return today() - dt.timedelta(days=next(_days_back))


def root(field: str) -> str:
    """`symptoms[1]` and `treatments[0].name` are about the fields `symptoms` and `treatments`."""
    return field.split("[")[0].split(".")[0]


def assert_problem(response: Any, status: int | tuple[int, ...], field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with the expected status; for a refused input, it names `field` with a reason."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["status"] == response.status_code
    for member in ("type", "title", "detail", "code"):
        assert isinstance(problem[member], str) and problem[member], (member, problem)
    if response.status_code == 422 or problem["code"] == "invalid-request" or field is not None:
        assert problem["errors"], problem
        for error in problem["errors"]:
            assert isinstance(error["field"], str) and error["field"], problem
            assert isinstance(error["reason"], str) and error["reason"], problem
    if field is not None:
        assert any(root(e["field"]) == field for e in problem.get("errors", [])), (field, problem)
    return problem


def same_instant(sent: str, got: str) -> bool:
    return dt.datetime.fromisoformat(sent) == dt.datetime.fromisoformat(got)


# ------------------------------------------------------------------------------------------------ check-in shapes

CHECKIN_DEFAULTS: dict[str, Any] = {
    "stiffness": None,
    "sleep_disturbance": None,
    "pain": None,
    "meds_taken": None,
    "symptoms": [],
    "systolic_bp": None,
    "temperature_c": None,
    "note": None,
}
note_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t\r"), min_size=0, max_size=300
)


@st.composite
def checkins(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"no_episodes": draw(st.booleans())}
    optional: dict[str, Any] = {
        "stiffness": draw(st.none() | st.integers(0, 10)),
        "sleep_disturbance": draw(st.none() | st.integers(0, 10)),
        "pain": draw(st.none() | st.integers(0, 10)),
        "meds_taken": draw(st.none() | st.sampled_from(catalog.codes(catalog.MedsTaken))),
        "symptoms": draw(st.lists(st.sampled_from(catalog.codes(catalog.Symptom)), unique=True, max_size=16)),
        "systolic_bp": draw(st.none() | st.integers(50, 300)),
        "temperature_c": draw(st.none() | st.floats(30.0, 45.0)),
        "note": draw(st.none() | note_text),
        "entered_at": (NOW - dt.timedelta(seconds=draw(st.integers(60, 30 * 86400)))).astimezone(draw(offsets)),
    }
    optional["entered_at"] = optional["entered_at"].isoformat()
    for key, value in optional.items():
        if draw(st.booleans()):
            body[key] = value
    return body


def minimal_checkin(**overrides: Any) -> dict[str, Any]:
    return {"no_episodes": False, "stiffness": 4, "pain": 2, "meds_taken": "all", **overrides}


Spoiler = Callable[[dict[str, Any], dt.date], tuple[dict[str, Any], dt.date]]


def checkin_spoilers() -> list[tuple[str, Spoiler]]:
    """(field the error must name, spoiler) pairs; each spoiler makes exactly one thing wrong with a valid check-in."""

    def set_(key: str, value: Any) -> Spoiler:
        return lambda body, day: ({**body, key: value}, day)

    def on_day(make: Callable[[], dt.date]) -> Spoiler:
        return lambda body, day: (body, make())

    return [
        ("stiffness", set_("stiffness", 11)),
        ("stiffness", set_("stiffness", "high")),
        ("stiffness", set_("stiffness", True)),
        ("pain", set_("pain", -1)),
        ("sleep_disturbance", set_("sleep_disturbance", 10.5)),
        ("meds_taken", set_("meds_taken", "most")),
        ("meds_taken", set_("meds_taken", "ALL")),
        ("no_episodes", set_("no_episodes", "yes")),
        ("no_episodes", set_("no_episodes", None)),
        ("no_episodes", lambda body, day: ({k: v for k, v in body.items() if k != "no_episodes"}, day)),
        ("symptoms", set_("symptoms", ["itching", "itching"])),
        ("symptoms", set_("symptoms", ["hiccups"])),
        ("systolic_bp", set_("systolic_bp", 49)),
        ("systolic_bp", set_("systolic_bp", 301)),
        ("temperature_c", set_("temperature_c", 29.9)),
        ("temperature_c", set_("temperature_c", 45.5)),
        ("note", set_("note", "x" * 2001)),
        ("note", set_("note", "bell \x07 ringing")),
        ("note", set_("note", "nul \x00 byte")),
        ("note", set_("note", "delete \x7f")),
        ("entered_at", set_("entered_at", (NOW + dt.timedelta(hours=2)).isoformat())),
        ("entered_at", set_("entered_at", "2026-01-01T10:00:00")),
        ("entered_at", set_("entered_at", (NOW - dt.timedelta(days=11 * 366)).isoformat())),
        ("mood", set_("mood", 5)),
        ("version", set_("version", 3)),
        ("patient_id", set_("patient_id", "00000000-0000-4000-8000-000000000000")),
        ("day", set_("day", "2026-01-01")),
        ("day", on_day(lambda: today() + dt.timedelta(days=2))),
        ("day", on_day(lambda: today() - dt.timedelta(days=11 * 366))),
    ]


# ------------------------------------------------------------------------------------------------------ check-ins


@given(body=checkins())
@PROPERTY
async def test_any_valid_checkin_round_trips_exactly(patient: Api, body: dict[str, Any]) -> None:
    day = fresh_day()
    created = await patient.put(checkin_url(day), json=body)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    fetched = await patient.get(checkin_url(day))
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"1"'
    expected = {**CHECKIN_DEFAULTS, **{k: v for k, v in body.items() if k != "entered_at"}}
    for got in (created.json(), fetched.json()):
        assert got["day"] == day.isoformat()
        assert got["version"] == 1
        assert {k: got[k] for k in expected} == expected
        if "entered_at" in body:
            assert same_instant(body["entered_at"], got["entered_at"]), (body["entered_at"], got["entered_at"])
    # entered_at is compared as an instant above; its offset is test_answers_agree_on_entered_at's subject.
    assert {k: v for k, v in created.json().items() if k != "entered_at"} == {
        k: v for k, v in fetched.json().items() if k != "entered_at"
    }


@given(body=checkins(), spoil=st.sampled_from(checkin_spoilers()))
@PROPERTY
async def test_any_spoiled_checkin_is_refused_and_nothing_is_written(
    patient: Api, body: dict[str, Any], spoil: tuple[str, Spoiler]
) -> None:
    field, make_bad = spoil
    day = fresh_day()
    bad_body, bad_day = make_bad(body, day)
    response = await patient.put(checkin_url(bad_day), json=bad_body)
    assert_problem(response, (400, 422), field)
    for looked_up in {day, bad_day}:
        missing = await patient.get(checkin_url(looked_up))
        assert missing.status_code == 404, missing.text


@pytest.mark.parametrize("spoil", checkin_spoilers(), ids=lambda s: s[0])
async def test_every_checkin_spoiler_is_refused(patient: Api, spoil: tuple[str, Spoiler]) -> None:
    """The property above samples the spoilers; this goes through each of them once on a full check-in."""
    field, make_bad = spoil
    day = fresh_day()
    full = minimal_checkin(
        sleep_disturbance=3,
        symptoms=["itching"],
        systolic_bp=120,
        temperature_c=36.8,
        note="fine",
        entered_at=(NOW - dt.timedelta(hours=1)).isoformat(),
    )
    bad_body, bad_day = make_bad(full, day)
    assert_problem(await patient.put(checkin_url(bad_day), json=bad_body), (400, 422), field)
    for looked_up in {day, bad_day}:
        assert (await patient.get(checkin_url(looked_up))).status_code == 404
    assert (await patient.get("/api/v1/checkins")).json() == []


async def test_checkin_create_replay_and_versioned_update(patient: Api) -> None:
    day = today() - dt.timedelta(days=1)
    body = minimal_checkin(note="slept badly")
    created = await patient.put(checkin_url(day), json=body)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json()["version"] == 1

    replay = await patient.put(checkin_url(day), json=body)
    assert replay.status_code == 201
    assert replay.json() == created.json()
    listed = await patient.get("/api/v1/checkins", params={"from": day.isoformat(), "to": day.isoformat()})
    assert [c["day"] for c in listed.json()] == [day.isoformat()]

    changed = minimal_checkin(note="slept badly", stiffness=8)
    without = await patient.put(checkin_url(day), json=changed)
    problem = assert_problem(without, 428)
    assert problem["code"] == "version-required"
    assert problem["current_version"] == 1
    assert without.headers["etag"] == '"1"'
    assert (await patient.get(checkin_url(day))).json()["stiffness"] == 4

    updated = await patient.put(checkin_url(day), json=changed, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["stiffness"] == 8
    assert updated.headers["etag"] == '"2"'

    stale = await patient.put(checkin_url(day), json=minimal_checkin(stiffness=1), headers={"If-Match": '"1"'})
    problem = assert_problem(stale, 412)
    assert problem["code"] == "stale-version"
    assert problem["current_version"] == 2
    after = await patient.get(checkin_url(day))
    assert after.json() == updated.json()
    assert after.headers["etag"] == '"2"'

    # The update replayed after a lost answer is not a conflict: that content is already stored.
    replayed_update = await patient.put(checkin_url(day), json=changed, headers={"If-Match": '"1"'})
    assert replayed_update.status_code == 200
    assert replayed_update.json()["version"] == 2


async def test_checkin_if_match_must_be_a_version_and_the_record_must_exist(patient: Api) -> None:
    day = fresh_day()
    bad = await patient.put(checkin_url(day), json=minimal_checkin(), headers={"If-Match": "yesterday"})
    assert assert_problem(bad, 400)["code"] == "bad-if-match"
    conditional = await patient.put(checkin_url(day), json=minimal_checkin(), headers={"If-Match": '"1"'})
    assert_problem(conditional, 404)
    assert (await patient.get(checkin_url(day))).status_code == 404


@pytest.mark.parametrize("kind", ["checkin", "penn", "regimen"])
async def test_answers_agree_on_entered_at(patient: Api, kind: str) -> None:
    """The 201, a replay and a later read describe the same record, so they must be the same document."""
    entered = (NOW - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    if kind == "checkin":
        url, body = checkin_url(fresh_day()), minimal_checkin(entered_at=entered.isoformat())
    elif kind == "penn":
        url, body = penn_url(iso_week(today() - dt.timedelta(days=21))), {"frequency": 1, "severity": 2}
        body["entered_at"] = entered.isoformat()
    else:
        url, body = regimen_url(uuid.uuid4()), regimen(entered_at=entered.isoformat())
    created = await patient.put(url, json=body)
    assert created.status_code == 201, created.text
    replay = await patient.put(url, json=body)
    assert replay.status_code == 201, replay.text
    if kind == "penn":
        [fetched] = (await patient.get("/api/v1/penn")).json()
    else:
        fetched = (await patient.get(url)).json()
    assert same_instant(entered.isoformat(), fetched["entered_at"])
    assert replay.json() == created.json()
    assert fetched == created.json()


async def test_inputs_are_strictly_typed(patient: Api) -> None:
    """schemas.py promises strict msgspec inputs, as the OpenAPI schema says: a string is not a number or a boolean."""
    loose = [
        ("no_episodes", {"no_episodes": "false"}),
        ("no_episodes", {"no_episodes": 0}),
        ("stiffness", minimal_checkin(stiffness="7")),
        ("temperature_c", minimal_checkin(temperature_c="37.5")),
        ("entered_at", minimal_checkin(entered_at=int(NOW.timestamp()) - 60)),
    ]
    for field, body in loose:
        day = fresh_day()
        response = await patient.put(checkin_url(day), json=body)
        assert response.status_code == 400, (field, body, response.text)
        assert_problem(response, 400, field)
        assert (await patient.get(checkin_url(day))).status_code == 404
    penn = await patient.put(penn_url(iso_week(today())), json={"frequency": "2", "severity": "1"})
    assert_problem(penn, 400, "frequency")


async def test_no_episodes_is_required_and_must_be_a_boolean(patient: Api) -> None:
    day = fresh_day()
    for body in ({"stiffness": 3}, {"no_episodes": None}, {"no_episodes": "maybe"}, {"no_episodes": []}):
        assert_problem(await patient.put(checkin_url(day), json=body), 400)
    assert (await patient.get(checkin_url(day))).status_code == 404
    for value in (True, False):
        answer = await patient.put(checkin_url(fresh_day()), json={"no_episodes": value})
        assert answer.status_code == 201, answer.text
        assert answer.json()["no_episodes"] is value


async def test_a_missing_required_field_is_named(patient: Api) -> None:
    """problems.py promises that every refusal names the field; a missing field is named `body` instead."""
    response = await patient.put(checkin_url(fresh_day()), json={"stiffness": 3})
    assert_problem(response, 400, "no_episodes")


@pytest.mark.parametrize("score", ["stiffness", "sleep_disturbance", "pain"])
async def test_scores_are_0_to_10_and_a_refusal_names_the_score(patient: Api, score: str) -> None:
    for value in (0, 10):
        day = fresh_day()
        accepted = await patient.put(checkin_url(day), json=minimal_checkin(**{score: value}))
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()[score] == value
    for value in (-1, 11, 100, 5.5, "seven", True, [3]):
        day = fresh_day()
        refused = await patient.put(checkin_url(day), json=minimal_checkin(**{score: value}))
        problem = assert_problem(refused, 400, score)
        assert all(root(e["field"]) == score for e in problem["errors"]), problem
        assert (await patient.get(checkin_url(day))).status_code == 404


async def test_meds_taken_codes(patient: Api) -> None:
    assert set(catalog.codes(catalog.MedsTaken)) == {"all", "some", "none", "no_regular_medicines"}
    for code in catalog.codes(catalog.MedsTaken):
        answer = await patient.put(checkin_url(fresh_day()), json=minimal_checkin(meds_taken=code))
        assert answer.status_code == 201, answer.text
        assert answer.json()["meds_taken"] == code
    null = await patient.put(checkin_url(fresh_day()), json=minimal_checkin(meds_taken=None))
    assert null.status_code == 201
    assert null.json()["meds_taken"] is None
    for code in ("most", "All", "", "yes", 1, ["all"]):
        day = fresh_day()
        assert_problem(await patient.put(checkin_url(day), json=minimal_checkin(meds_taken=code)), 400, "meds_taken")
        assert (await patient.get(checkin_url(day))).status_code == 404


async def test_the_day_may_be_tomorrow_but_not_later_nor_over_ten_years_ago(patient: Api) -> None:
    now = today()
    for accepted_day in (now, now + dt.timedelta(days=1), now - dt.timedelta(days=OLDEST_DAYS)):
        answer = await patient.put(checkin_url(accepted_day), json=minimal_checkin())
        assert answer.status_code == 201, (accepted_day, answer.text)
        assert answer.json()["day"] == accepted_day.isoformat()
    refused_days = (
        now + dt.timedelta(days=2),
        now + dt.timedelta(days=400),
        now - dt.timedelta(days=OLDEST_DAYS + 1),
        now - dt.timedelta(days=11 * 366),
    )
    for refused_day in refused_days:
        refused = await patient.put(checkin_url(refused_day), json=minimal_checkin())
        problem = assert_problem(refused, 422, "day")
        assert problem["code"] == "invalid-data"
        assert (await patient.get(checkin_url(refused_day))).status_code == 404


async def test_a_day_that_is_not_a_date_is_not_an_address(patient: Api) -> None:
    for day in ("2026-13-01", "2026-02-30", "yesterday", "20261101"):
        assert_problem(await patient.put(checkin_url(day), json=minimal_checkin()), (400, 404))
        assert_problem(await patient.get(checkin_url(day)), (400, 404))


async def test_checkin_refuses_unknown_fields_by_name(patient: Api) -> None:
    day = fresh_day()
    for field in ("mood", "version", "patient_id", "day", "updated_at"):
        problem = assert_problem(await patient.put(checkin_url(day), json=minimal_checkin(**{field: 1})), 400, field)
        assert any("not a field" in e["reason"] for e in problem["errors"]), problem
    assert (await patient.get(checkin_url(day))).status_code == 404


async def test_checkin_note_refuses_control_characters_and_keeps_ordinary_text(patient: Api) -> None:
    for bad in ("\x00", "a\x01b", "bell\x07", "esc\x1b[31m", "del\x7f", "x" * 2001):
        day = fresh_day()
        problem = assert_problem(await patient.put(checkin_url(day), json=minimal_checkin(note=bad)), (400, 422))
        assert [root(e["field"]) for e in problem["errors"]] == ["note"], problem
        assert (await patient.get(checkin_url(day))).status_code == 404
    for good in ("line one\nline two\ttab\r\n", "x" * 2000, "ñandú — 痙攣 🦵", ""):
        day = fresh_day()
        answer = await patient.put(checkin_url(day), json=minimal_checkin(note=good))
        assert answer.status_code == 201, answer.text
        assert (await patient.get(checkin_url(day))).json()["note"] == good


async def test_checkin_symptoms_and_vital_signs(patient: Api) -> None:
    day = fresh_day()
    body = minimal_checkin(symptoms=["fever_or_chills", "itching"], systolic_bp=182, temperature_c=38.4)
    answer = await patient.put(checkin_url(day), json=body)
    assert answer.status_code == 201, answer.text
    got = (await patient.get(checkin_url(day))).json()
    assert (got["symptoms"], got["systolic_bp"], got["temperature_c"]) == (["fever_or_chills", "itching"], 182, 38.4)
    refusals = [
        ("symptoms", {"symptoms": ["itching", "itching"]}, 422),
        ("symptoms", {"symptoms": ["hiccups"]}, 400),
        ("systolic_bp", {"systolic_bp": 49}, 400),
        ("systolic_bp", {"systolic_bp": 301}, 400),
        ("temperature_c", {"temperature_c": 29.99}, 400),
        ("temperature_c", {"temperature_c": 45.01}, 400),
    ]
    for field, change, status in refusals:
        bad_day = fresh_day()
        assert_problem(await patient.put(checkin_url(bad_day), json=minimal_checkin(**change)), status, field)
        assert (await patient.get(checkin_url(bad_day))).status_code == 404


async def test_checkin_entered_at_must_be_a_plausible_instant(patient: Api) -> None:
    refusals = [
        ((NOW + dt.timedelta(hours=1)).isoformat(), 422),
        ((NOW - dt.timedelta(days=11 * 366)).isoformat(), 422),
        ("2026-11-01T10:00:00", 400),
        ("soon", 400),
    ]
    for entered_at, status in refusals:
        day = fresh_day()
        assert_problem(
            await patient.put(checkin_url(day), json=minimal_checkin(entered_at=entered_at)), status, "entered_at"
        )
        assert (await patient.get(checkin_url(day))).status_code == 404


async def test_checkin_list_filters_by_day_newest_first(patient: Api) -> None:
    base = today() - dt.timedelta(days=40)
    days = [base + dt.timedelta(days=n) for n in range(6)]
    for n, day in enumerate(days):
        assert (await patient.put(checkin_url(day), json=minimal_checkin(pain=n))).status_code == 201
    everything = await patient.get("/api/v1/checkins")
    assert everything.status_code == 200
    assert everything.headers["cache-control"] == "no-store"
    assert [c["day"] for c in everything.json()] == [d.isoformat() for d in reversed(days)]

    window = await patient.get("/api/v1/checkins", params={"from": days[1].isoformat(), "to": days[4].isoformat()})
    assert [c["day"] for c in window.json()] == [d.isoformat() for d in reversed(days[1:5])]
    assert [c["pain"] for c in window.json()] == [4, 3, 2, 1]
    since = await patient.get("/api/v1/checkins", params={"from": days[4].isoformat()})
    assert [c["day"] for c in since.json()] == [days[5].isoformat(), days[4].isoformat()]
    until = await patient.get("/api/v1/checkins", params={"to": days[0].isoformat()})
    assert [c["day"] for c in until.json()] == [days[0].isoformat()]
    one_day = await patient.get("/api/v1/checkins", params={"from": days[2].isoformat(), "to": days[2].isoformat()})
    assert [c["day"] for c in one_day.json()] == [days[2].isoformat()]
    limited = await patient.get("/api/v1/checkins", params={"limit": 2})
    assert [c["day"] for c in limited.json()] == [days[5].isoformat(), days[4].isoformat()]


async def test_checkin_list_refuses_bad_filters(patient: Api) -> None:
    backwards = await patient.get("/api/v1/checkins", params={"from": "2026-02-01", "to": "2026-01-31"})
    assert assert_problem(backwards, 422, "to")["code"] == "invalid-data"
    for params in ({"from": "2026-02-30"}, {"to": "soon"}, {"limit": 0}, {"limit": 501}, {"limit": "all"}):
        assert_problem(await patient.get("/api/v1/checkins", params=params), (400, 422))


async def test_checkin_list_errors_name_the_query_parameter_the_client_sent(patient: Api) -> None:
    """The client sent `from` and `to`; an error naming the server's Python argument names is no help."""
    assert_problem(await patient.get("/api/v1/checkins", params={"from": "2026-02-30"}), 400, "from")
    assert_problem(await patient.get("/api/v1/checkins", params={"to": "soon"}), 400, "to")


async def test_an_empty_or_null_body_is_refused_with_a_reason(patient: Api) -> None:
    day = fresh_day()
    for content in (b"", b"null"):
        response = await patient.put(checkin_url(day), content=content, headers={"content-type": "application/json"})
        problem = assert_problem(response, 400)
        # The reason must say what is wrong, not leak an internal key name such as "'data'".
        assert all(" " in e["reason"] for e in problem["errors"]), problem
    assert (await patient.get(checkin_url(day))).status_code == 404


async def test_checkins_are_private_to_each_patient(patient: Api, other_patient: Api) -> None:
    day = today() - dt.timedelta(days=3)
    mine = minimal_checkin(note="private-note-of-the-first-patient", stiffness=9)
    assert (await patient.put(checkin_url(day), json=mine)).status_code == 201

    assert_problem(await other_patient.get(checkin_url(day)), 404)
    listed = await other_patient.get("/api/v1/checkins")
    assert listed.json() == []
    conditional = await other_patient.put(checkin_url(day), json=minimal_checkin(), headers={"If-Match": '"1"'})
    assert_problem(conditional, 404)
    # The other patient's own check-in of that day is a new record of theirs, not a conflict with mine.
    theirs = await other_patient.put(checkin_url(day), json=minimal_checkin(stiffness=1))
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["version"] == 1
    for response in (theirs, await other_patient.get(checkin_url(day)), await other_patient.get("/api/v1/checkins")):
        assert "private-note-of-the-first-patient" not in response.text
    assert [c["stiffness"] for c in (await other_patient.get("/api/v1/checkins")).json()] == [1]

    still_mine = (await patient.get(checkin_url(day))).json()
    assert (still_mine["stiffness"], still_mine["note"], still_mine["version"]) == (9, mine["note"], 1)


# ---------------------------------------------------------------------------------------------------- Penn ratings


async def test_penn_create_replay_and_versioned_update(patient: Api) -> None:
    week = iso_week(today() - dt.timedelta(days=7))
    created = await patient.put(penn_url(week), json={"frequency": 2, "severity": 1})
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert {k: created.json()[k] for k in ("week", "version", "frequency", "severity")} == {
        "week": week,
        "version": 1,
        "frequency": 2,
        "severity": 1,
    }
    replay = await patient.put(penn_url(week), json={"frequency": 2, "severity": 1})
    assert replay.status_code == 201
    assert replay.json() == created.json()
    assert [r["week"] for r in (await patient.get("/api/v1/penn")).json()] == [week]

    without = await patient.put(penn_url(week), json={"frequency": 3, "severity": 2})
    assert assert_problem(without, 428)["current_version"] == 1
    updated = await patient.put(penn_url(week), json={"frequency": 3, "severity": 2}, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    assert (updated.json()["version"], updated.json()["frequency"], updated.json()["severity"]) == (2, 3, 2)
    stale = await patient.put(penn_url(week), json={"frequency": 0}, headers={"If-Match": '"1"'})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert (await patient.get("/api/v1/penn")).json() == [updated.json()]

    missing = await patient.put(
        penn_url(iso_week(today() - dt.timedelta(days=70))), json={"frequency": 0}, headers={"If-Match": '"1"'}
    )
    assert_problem(missing, 404)


async def test_penn_frequency_and_severity(patient: Api) -> None:
    weeks = (iso_week(today() - dt.timedelta(weeks=n)) for n in range(1, 60))
    accepted = [{"frequency": 0}, {"frequency": 0, "severity": None}]
    accepted += [{"frequency": f, "severity": s} for f in range(1, 5) for s in (1, 2, 3)]
    for body in accepted:
        week = next(weeks)
        answer = await patient.put(penn_url(week), json=body)
        assert answer.status_code == 201, (body, answer.text)
        assert (answer.json()["frequency"], answer.json()["severity"]) == (body["frequency"], body.get("severity"))
    refusals = [
        ({"frequency": 0, "severity": 1}, 422, "severity"),
        ({"frequency": 1}, 422, "severity"),
        ({"frequency": 4, "severity": None}, 422, "severity"),
        ({"frequency": 5, "severity": 1}, 400, "frequency"),
        ({"frequency": -1}, 400, "frequency"),
        ({"frequency": "often", "severity": 1}, 400, "frequency"),
        ({"severity": 1}, 400, None),
        ({"frequency": 2, "severity": 0}, 400, "severity"),
        ({"frequency": 2, "severity": 4}, 400, "severity"),
        ({"frequency": 2, "severity": 2, "week": "2026-W01"}, 400, "week"),
        ({"frequency": 2, "severity": 2, "entered_at": (NOW + dt.timedelta(hours=1)).isoformat()}, 422, "entered_at"),
    ]
    listed_before = (await patient.get("/api/v1/penn")).json()
    for body, status, field in refusals:
        assert_problem(await patient.put(penn_url(next(weeks)), json=body), status, field)
    assert (await patient.get("/api/v1/penn")).json() == listed_before


async def test_penn_week_must_be_an_iso_week_not_in_the_future(patient: Api) -> None:
    refusals = [
        ("2026-W54", 422),
        ("2026-W00", 422),
        ("2021-W53", 422),  # 2021 had 52 ISO weeks
        ("2026-48", 400),
        ("W48", 400),
        ("2026-W4", 400),
        ("2026-w48", 400),
        ("26-W48", 400),
        (iso_week(today() + dt.timedelta(days=14)), 422),
        (iso_week(today() + dt.timedelta(days=400)), 422),
        (iso_week(today() - dt.timedelta(days=11 * 366)), 422),
    ]
    for week, status in refusals:
        problem = assert_problem(
            await patient.put(penn_url(week), json={"frequency": 1, "severity": 1}), status, "week"
        )
        assert all(root(e["field"]) == "week" for e in problem["errors"]), problem
    assert (await patient.get("/api/v1/penn")).json() == []
    for week in ("2020-W53", iso_week(today())):  # 2020 had 53 ISO weeks
        answer = await patient.put(penn_url(week), json={"frequency": 1, "severity": 3})
        assert answer.status_code == 201, (week, answer.text)
    listed = await patient.get("/api/v1/penn")
    assert listed.headers["cache-control"] == "no-store"
    assert [r["week"] for r in listed.json()] == [iso_week(today()), "2020-W53"]


async def test_penn_ratings_are_private_to_each_patient(patient: Api, other_patient: Api) -> None:
    week = iso_week(today() - dt.timedelta(days=14))
    assert (await patient.put(penn_url(week), json={"frequency": 4, "severity": 3})).status_code == 201
    assert (await other_patient.get("/api/v1/penn")).json() == []
    assert_problem(await other_patient.put(penn_url(week), json={"frequency": 0}, headers={"If-Match": '"1"'}), 404)
    theirs = await other_patient.put(penn_url(week), json={"frequency": 0})
    assert theirs.status_code == 201, theirs.text
    assert [(r["frequency"], r["severity"]) for r in (await other_patient.get("/api/v1/penn")).json()] == [(0, None)]
    mine = (await patient.get("/api/v1/penn")).json()
    assert [(r["week"], r["frequency"], r["severity"], r["version"]) for r in mine] == [(week, 4, 3, 1)]


# -------------------------------------------------------------------------------------------------------- regimens


def regimen(**overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "antispasmodic",
        "name": "Baclofen",
        "dose": "10 mg",
        "schedule": "three times a day",
        "times": ["08:00", "14:00", "22:00"],
        "start_date": (today() - dt.timedelta(days=30)).isoformat(),
    }
    body.update(overrides)
    return body


async def test_every_regimen_kind_in_the_catalog_is_accepted(patient: Api) -> None:
    kinds = catalog.codes(catalog.RegimenKind)
    assert len(kinds) == len(catalog.REGIMEN_KINDS)
    for kind in kinds:
        regimen_id = uuid.uuid4()
        answer = await patient.put(regimen_url(regimen_id), json=regimen(kind=kind, name=f"plan {kind}"))
        assert answer.status_code == 201, (kind, answer.text)
        fetched = await patient.get(regimen_url(regimen_id))
        assert fetched.json()["kind"] == kind
    listed = (await patient.get("/api/v1/regimens")).json()
    assert sorted(r["kind"] for r in listed) == sorted(kinds)
    unknown = await patient.put(regimen_url(uuid.uuid4()), json=regimen(kind="acupuncture"))
    assert_problem(unknown, 400, "kind")


async def test_regimen_round_trips_every_field(patient: Api) -> None:
    regimen_id = uuid.uuid4()
    body = regimen(
        stop_date=(today() + dt.timedelta(days=60)).isoformat(),
        note="take with food\nnot with alcohol",
        entered_at=(NOW - dt.timedelta(minutes=5)).isoformat(),
    )
    created = await patient.put(regimen_url(regimen_id), json=body)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    fetched = await patient.get(regimen_url(regimen_id))
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"1"'
    assert fetched.headers["cache-control"] == "no-store"
    got = fetched.json()
    assert got["id"] == str(regimen_id)
    assert got["version"] == 1
    assert {k: got[k] for k in body if k != "entered_at"} == {k: v for k, v in body.items() if k != "entered_at"}
    assert same_instant(body["entered_at"], got["entered_at"])

    bare = await patient.put(
        regimen_url(uuid.uuid4()), json={"kind": "rest", "name": "Rest", "start_date": today().isoformat()}
    )
    assert bare.status_code == 201, bare.text
    assert {k: bare.json()[k] for k in ("dose", "schedule", "times", "stop_date", "note")} == {
        "dose": None,
        "schedule": None,
        "times": [],
        "stop_date": None,
        "note": None,
    }


async def test_regimen_replay_and_versioned_update(patient: Api) -> None:
    regimen_id = uuid.uuid4()
    created = await patient.put(regimen_url(regimen_id), json=regimen())
    assert created.status_code == 201
    replay = await patient.put(regimen_url(regimen_id), json=regimen())
    assert replay.status_code == 201
    assert replay.json() == created.json()
    assert [r["id"] for r in (await patient.get("/api/v1/regimens")).json()] == [str(regimen_id)]

    changed = regimen(dose="20 mg")
    assert assert_problem(await patient.put(regimen_url(regimen_id), json=changed), 428)["current_version"] == 1
    updated = await patient.put(regimen_url(regimen_id), json=changed, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["version"], updated.json()["dose"]) == (2, "20 mg")
    assert updated.headers["etag"] == '"2"'
    stale = await patient.put(regimen_url(regimen_id), json=regimen(dose="5 mg"), headers={"If-Match": '"1"'})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert (await patient.get(regimen_url(regimen_id))).json() == updated.json()
    assert_problem(await patient.put(regimen_url(uuid.uuid4()), json=changed, headers={"If-Match": '"1"'}), 404)


async def test_regimen_dates(patient: Api) -> None:
    start = today() + dt.timedelta(days=30)
    before = await patient.put(
        regimen_url(uuid.uuid4()),
        json=regimen(start_date=start.isoformat(), stop_date=(start - dt.timedelta(days=1)).isoformat()),
    )
    problem = assert_problem(before, 422, "stop_date")
    assert any("start_date" in e["reason"] for e in problem["errors"] if e["field"] == "stop_date"), problem
    same_day = await patient.put(
        regimen_url(uuid.uuid4()), json=regimen(start_date=start.isoformat(), stop_date=start.isoformat())
    )
    assert same_day.status_code == 201, same_day.text
    today_only = await patient.put(
        regimen_url(uuid.uuid4()), json=regimen(start_date=today().isoformat(), stop_date=today().isoformat())
    )
    assert today_only.status_code == 201, today_only.text
    far = await patient.put(
        regimen_url(uuid.uuid4()), json=regimen(start_date=(today() + dt.timedelta(days=400)).isoformat())
    )
    assert_problem(far, 422, "start_date")
    for value in ("2026-02-30", "soon", None):
        assert_problem(await patient.put(regimen_url(uuid.uuid4()), json=regimen(start_date=value)), 400, "start_date")
    assert_problem(await patient.put(regimen_url(uuid.uuid4()), json=regimen(stop_date="never")), 400, "stop_date")
    assert len((await patient.get("/api/v1/regimens")).json()) == 2


async def test_a_regimen_that_stopped_in_the_past_is_accepted(patient: Api) -> None:
    """A treatment tried last month and stopped last week is the normal case; its stop date is not "10 years ago"."""
    body = regimen(
        start_date=(today() - dt.timedelta(days=30)).isoformat(), stop_date=(today() - dt.timedelta(days=7)).isoformat()
    )
    answer = await patient.put(regimen_url(uuid.uuid4()), json=body)
    assert answer.status_code == 201, answer.text


async def test_a_regimen_started_nine_and_a_half_years_ago_is_accepted(patient: Api) -> None:
    """Only dates more than 10 years ago are refused as "more than 10 years ago"."""
    start = today() - dt.timedelta(days=3470)  # about nine and a half years
    answer = await patient.put(regimen_url(uuid.uuid4()), json=regimen(start_date=start.isoformat()))
    assert answer.status_code == 201, answer.text
    too_old = today() - dt.timedelta(days=OLDEST_DAYS + 1)
    assert_problem(
        await patient.put(regimen_url(uuid.uuid4()), json=regimen(start_date=too_old.isoformat())), 422, "start_date"
    )


async def test_regimen_times_are_distinct_24_hour_clock_times(patient: Api) -> None:
    good = ["00:00", "07:05", "12:30", "23:59"]
    answer = await patient.put(regimen_url(uuid.uuid4()), json=regimen(times=good))
    assert answer.status_code == 201, answer.text
    assert answer.json()["times"] == good
    for bad in ("24:00", "7:5", "7:05", "07:5", "07:60", "0700", "07.00", "07:00:00", "", " 07:00", "noon"):
        problem = assert_problem(
            await patient.put(regimen_url(uuid.uuid4()), json=regimen(times=["08:00", bad])), 400, "times"
        )
        assert [e["field"] for e in problem["errors"]] == ["times[1]"], (bad, problem)
    duplicate = await patient.put(regimen_url(uuid.uuid4()), json=regimen(times=["08:00", "20:00", "08:00"]))
    problem = assert_problem(duplicate, 422, "times")
    assert [e["field"] for e in problem["errors"]] == ["times[2]"], problem
    too_many = [f"{h:02d}:00" for h in range(9)]
    assert_problem(await patient.put(regimen_url(uuid.uuid4()), json=regimen(times=too_many)), 400, "times")
    assert len((await patient.get("/api/v1/regimens")).json()) == 1


async def test_regimen_text_fields(patient: Api) -> None:
    refusals = [
        ("name", {"name": ""}, 400),
        ("name", {"name": "x" * 121}, 400),
        ("dose", {"dose": ""}, 400),
        ("schedule", {"schedule": "x" * 201}, 400),
        ("note", {"note": "x" * 2001}, 400),
        ("name", {"name": "Baclo\x00fen"}, 422),
        ("dose", {"dose": "10\x1bmg"}, 422),
        ("schedule", {"schedule": "daily\x07"}, 422),
        ("note", {"note": "a\x7fb"}, 422),
        ("colour", {"colour": "blue"}, 400),
        ("version", {"version": 1}, 400),
        ("id", {"id": str(uuid.uuid4())}, 400),
        ("entered_at", {"entered_at": (NOW + dt.timedelta(hours=1)).isoformat()}, 422),
    ]
    for field, change, status in refusals:
        regimen_id = uuid.uuid4()
        assert_problem(await patient.put(regimen_url(regimen_id), json=regimen(**change)), status, field)
        assert_problem(await patient.get(regimen_url(regimen_id)), 404)
    body = regimen(name="x" * 120, dose="½ tablet", schedule="y" * 200, note="z" * 2000)
    assert (await patient.put(regimen_url(uuid.uuid4()), json=body)).status_code == 201
    assert len((await patient.get("/api/v1/regimens")).json()) == 1


async def test_regimen_delete_leaves_a_tombstone_that_a_replay_cannot_revive(patient: Api) -> None:
    kept, removed = uuid.uuid4(), uuid.uuid4()
    assert (await patient.put(regimen_url(kept), json=regimen(name="Stretching", kind="stretching"))).status_code == 201
    assert (await patient.put(regimen_url(removed), json=regimen())).status_code == 201

    stale = await patient.delete(regimen_url(removed), headers={"If-Match": '"7"'})
    assert assert_problem(stale, 412)["current_version"] == 1
    assert (await patient.get(regimen_url(removed))).status_code == 200

    assert (await patient.delete(regimen_url(removed), headers={"If-Match": '"1"'})).status_code == 204
    assert_problem(await patient.get(regimen_url(removed)), 404)
    assert (await patient.delete(regimen_url(removed))).status_code == 204  # a replayed delete
    assert_problem(await patient.put(regimen_url(removed), json=regimen()), 410)
    assert_problem(await patient.put(regimen_url(removed), json=regimen(dose="1 mg"), headers={"If-Match": '"2"'}), 410)
    assert_problem(await patient.get(regimen_url(removed)), 404)
    assert [r["id"] for r in (await patient.get("/api/v1/regimens")).json()] == [str(kept)]
    assert_problem(await patient.delete(regimen_url(uuid.uuid4())), 404)


async def test_regimen_list_is_most_recent_start_first(patient: Api) -> None:
    starts = [today() - dt.timedelta(days=d) for d in (200, 10, 90)]
    ids = []
    for start in starts:
        regimen_id = uuid.uuid4()
        ids.append(str(regimen_id))
        assert (
            await patient.put(regimen_url(regimen_id), json=regimen(start_date=start.isoformat()))
        ).status_code == 201
    listed = await patient.get("/api/v1/regimens")
    assert listed.headers["cache-control"] == "no-store"
    assert [r["id"] for r in listed.json()] == [ids[1], ids[2], ids[0]]


async def test_another_patients_regimen_answers_like_a_missing_one(patient: Api, other_patient: Api) -> None:
    regimen_id = uuid.uuid4()
    body = regimen(note="private-regimen-note")
    created = await patient.put(regimen_url(regimen_id), json=body)
    assert created.status_code == 201

    for target in (regimen_id, uuid.uuid4()):
        got = await other_patient.get(regimen_url(target))
        assert assert_problem(got, 404)["detail"] == "No such regimen."
        assert_problem(await other_patient.delete(regimen_url(target)), 404)
        assert_problem(await other_patient.delete(regimen_url(target), headers={"If-Match": '"1"'}), 404)
        changed = await other_patient.put(regimen_url(target), json=regimen(dose="999 mg"), headers={"If-Match": '"1"'})
        assert_problem(changed, 404)
    for attempt in (body, regimen(dose="999 mg")):
        taken = await other_patient.put(regimen_url(regimen_id), json=attempt)
        assert assert_problem(taken, 409)["code"] == "id-taken"
        assert "private-regimen-note" not in taken.text
    listed = await other_patient.get("/api/v1/regimens")
    assert listed.json() == []

    mine = await patient.get(regimen_url(regimen_id))
    assert mine.json() == created.json()
    assert [r["id"] for r in (await patient.get("/api/v1/regimens")).json()] == [str(regimen_id)]


# --------------------------------------------------------------------------------------------------------- profile


def profile(**overrides: Any) -> dict[str, Any]:
    return {"conditions": ["multiple_sclerosis"], "time_zone": "Europe/Madrid", **overrides}


async def test_a_new_patient_has_a_profile(browser: Any) -> None:
    api: Api = await browser()
    await api.register("patient", time_zone="America/Argentina/Buenos_Aires", language="es")
    response = await api.get(PROFILE)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    assert response.headers["cache-control"] == "no-store"
    got = response.json()
    expected = {
        "version": 1,
        "conditions": [],
        "sci_level": None,
        "sci_complete": None,
        "itb_pump": False,
        "itb_refill_date": None,
        "baseline_systolic": None,
        "spasticity_helps_function": None,
        "time_zone": "America/Argentina/Buenos_Aires",
        "sleep_start": "23:00",
        "sleep_end": "07:00",
        "language": "es",
    }
    assert {k: got[k] for k in expected} == expected
    assert dt.datetime.fromisoformat(got["updated_at"]) <= dt.datetime.now(dt.UTC)


async def test_a_new_profile_can_be_saved_back_as_it_was_read(browser: Any) -> None:
    """A new account has no conditions yet; a client that reads the profile, changes the language and sends it back
    (as the settings page does) is not refused for the conditions it never chose."""
    api: Api = await browser()
    await api.register("patient")
    read = (await api.get(PROFILE)).json()
    assert read["conditions"] == []
    body = {k: read[k] for k in ("conditions", "time_zone", "sleep_start", "sleep_end")} | {"language": "es"}
    saved = await api.put(PROFILE, json=body, headers={"If-Match": f'"{read["version"]}"'})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["conditions"], saved.json()["language"]) == ([], "es")


async def test_profile_update_needs_the_current_version(patient: Api) -> None:
    before = (await patient.get(PROFILE)).json()
    body = {
        "conditions": ["spinal_cord_injury", "night_cramps"],
        "sci_level": "T6",
        "sci_complete": False,
        "itb_pump": True,
        "itb_refill_date": (today() + dt.timedelta(days=20)).isoformat(),
        "baseline_systolic": 105,
        "spasticity_helps_function": True,
        "time_zone": "Asia/Kolkata",
        "sleep_start": "22:30",
        "sleep_end": "06:45",
        "language": "es",
    }
    without = await patient.put(PROFILE, json=body)
    assert assert_problem(without, 428)["code"] == "version-required"
    assert without.headers["etag"] == '"1"'
    assert (await patient.get(PROFILE)).json() == before

    updated = await patient.put(PROFILE, json=body, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    assert updated.json()["version"] == 2
    assert {k: updated.json()[k] for k in body} == body
    assert (await patient.get(PROFILE)).json() == updated.json()

    stale = await patient.put(PROFILE, json=profile(), headers={"If-Match": '"1"'})
    problem = assert_problem(stale, 412)
    assert (problem["code"], problem["current_version"]) == ("stale-version", 2)
    assert stale.headers["etag"] == '"2"'
    assert (await patient.get(PROFILE)).json() == updated.json()
    assert assert_problem(await patient.put(PROFILE, json=profile(), headers={"If-Match": "v2"}), 400)["code"] == (
        "bad-if-match"
    )
    ahead = await patient.put(PROFILE, json=profile(), headers={"If-Match": '"3"'})
    assert_problem(ahead, 412)

    # Optional fields left out go back to their defaults: PUT replaces the whole profile.
    replaced = await patient.put(PROFILE, json=profile(), headers={"If-Match": '"2"'})
    assert replaced.status_code == 200, replaced.text
    got = replaced.json()
    assert (got["version"], got["conditions"], got["sci_level"], got["itb_pump"], got["sleep_start"]) == (
        3,
        ["multiple_sclerosis"],
        None,
        False,
        "23:00",
    )


async def test_profile_time_zone_must_be_a_known_zone(patient: Api) -> None:
    for zone in (
        "Mars/Olympus",
        "Europe",
        "Europe/Madrid/",
        "europe/madrid",
        "../../etc/passwd",
        "/etc/localtime",
        "zone.tab",
        "Europe/Nowhere",
    ):
        response = await patient.put(PROFILE, json=profile(time_zone=zone), headers={"If-Match": '"1"'})
        assert assert_problem(response, 422, "time_zone")["code"] == "invalid-data"
    for body in (profile(time_zone=""), profile(time_zone="x" * 65)):
        assert_problem(await patient.put(PROFILE, json=body, headers={"If-Match": '"1"'}), 400, "time_zone")
    assert (await patient.get(PROFILE)).json()["version"] == 1
    answer = await patient.put(PROFILE, json=profile(time_zone="Pacific/Chatham"), headers={"If-Match": '"1"'})
    assert answer.status_code == 200, answer.text
    assert answer.json()["time_zone"] == "Pacific/Chatham"


async def test_profile_time_zone_must_not_be_the_servers_own_zone_file(patient: Api) -> None:
    """`localtime` is not an IANA zone: it is whatever zone the server machine is set to."""
    response = await patient.put(PROFILE, json=profile(time_zone="localtime"), headers={"If-Match": '"1"'})
    assert_problem(response, 422, "time_zone")


async def test_profile_sci_level(patient: Api) -> None:
    version = 1
    for level in ("C1", "C8", "T1", "T9", "T10", "T12", "L1", "L5", "S1", "S5"):
        body = profile(conditions=["spinal_cord_injury"], sci_level=level, sci_complete=True)
        answer = await patient.put(PROFILE, json=body, headers={"If-Match": f'"{version}"'})
        assert answer.status_code == 200, (level, answer.text)
        version += 1
        assert (answer.json()["sci_level"], answer.json()["version"]) == (level, version)
    for level in ("C0", "C9", "T0", "T13", "L0", "L6", "S0", "S6", "c5", "T6 ", "X1", "T06", "", "C", 6):
        body = profile(conditions=["spinal_cord_injury"], sci_level=level)
        response = await patient.put(PROFILE, json=body, headers={"If-Match": f'"{version}"'})
        assert_problem(response, 400, "sci_level")
    without_sci = await patient.put(
        PROFILE, json=profile(conditions=["stroke", "other"], sci_level="T6"), headers={"If-Match": f'"{version}"'}
    )
    problem = assert_problem(without_sci, 422, "sci_level")
    assert "spinal_cord_injury" in problem["errors"][0]["reason"]
    current = (await patient.get(PROFILE)).json()
    assert (current["version"], current["sci_level"]) == (version, "S5")


async def test_profile_conditions(patient: Api) -> None:
    everything = list(catalog.codes(catalog.Condition))
    answer = await patient.put(PROFILE, json=profile(conditions=everything), headers={"If-Match": '"1"'})
    assert answer.status_code == 200, answer.text
    assert answer.json()["conditions"] == everything
    duplicate = await patient.put(
        PROFILE, json=profile(conditions=["stroke", "other", "stroke"]), headers={"If-Match": '"2"'}
    )
    problem = assert_problem(duplicate, 422, "conditions")
    assert [e["field"] for e in problem["errors"]] == ["conditions[2]"], problem
    for conditions in (["hiccups"], "stroke", [*everything, "other"]):
        assert_problem(
            await patient.put(PROFILE, json=profile(conditions=conditions), headers={"If-Match": '"2"'}),
            (400, 422),
            "conditions",
        )
    refusals = [
        ("language", {"language": "fr"}),
        ("sleep_start", {"sleep_start": "24:00"}),
        ("sleep_end", {"sleep_end": "7:00"}),
        ("baseline_systolic", {"baseline_systolic": 251}),
        ("itb_refill_date", {"itb_refill_date": "soon"}),
        ("version", {"version": 2}),
        ("patient_id", {"patient_id": str(uuid.uuid4())}),
    ]
    for field, change in refusals:
        assert_problem(await patient.put(PROFILE, json=profile(**change), headers={"If-Match": '"2"'}), 400, field)
    assert (await patient.get(PROFILE)).json() == answer.json()


async def test_profiles_are_private_to_each_patient(patient: Api, other_patient: Api) -> None:
    theirs_before = (await other_patient.get(PROFILE)).json()
    changed = await patient.put(
        PROFILE, json=profile(time_zone="Asia/Tokyo", conditions=["stroke"]), headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    theirs_after = await other_patient.get(PROFILE)
    assert theirs_after.json() == theirs_before
    assert theirs_after.json()["time_zone"] == "Europe/Madrid"
    assert "Asia/Tokyo" not in theirs_after.text


# ------------------------------------------------------------------------------------------- catalog and access

CATALOG_LISTS = {
    "episode_kinds": catalog.EpisodeKind,
    "body_sites": catalog.BodySite,
    "sides": catalog.Side,
    "triggers": catalog.Trigger,
    "symptoms": catalog.Symptom,
    "contexts": catalog.Context,
    "treatments": catalog.TreatmentKind,
    "impacts": catalog.Impact,
    "regimen_kinds": catalog.RegimenKind,
    "conditions": catalog.Condition,
    "meds_taken": catalog.MedsTaken,
}


async def test_the_catalog_is_public_and_lists_every_code(browser: Any, clinician: Api, patient: Api) -> None:
    stranger: Api = await browser()
    answers = [await who.get("/api/v1/catalog") for who in (stranger, clinician, patient)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    body = answers[0].json()
    for name, literal in CATALOG_LISTS.items():
        listed = [entry["code"] for entry in body[name]]
        assert len(listed) == len(set(listed)), name
        assert set(listed) == set(catalog.codes(literal)), name
        for entry in body[name]:
            assert isinstance(entry["label"], str) and entry["label"].strip(), (name, entry)
    assert {e["code"]: e["region"] for e in body["body_sites"]} == {c: r for c, (_, r) in catalog.BODY_SITES.items()}
    assert {e["code"] for e in body["treatments"] if e["drug"]} == set(catalog.DRUG_TREATMENTS)
    assert {e["code"]: e["label"] for e in body["meds_taken"]} == catalog.MEDS_TAKEN


def diary_requests(app: Litestar) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every diary route and method, with its path parameters filled in and a valid body for writes."""
    prefixes = tuple(handler.path for handler in DIARY_ROUTES if isinstance(handler, type))
    bodies = {
        "/api/v1/episodes": {
            "kind": "cramp",
            "started_at": (NOW - dt.timedelta(hours=1)).isoformat(),
            "intensity": 5,
            "body_sites": [{"site": "calf", "side": "left"}],
        },
        "/api/v1/checkins": minimal_checkin(),
        "/api/v1/penn": {"frequency": 1, "severity": 1},
        "/api/v1/regimens": regimen(),
        "/api/v1/profile": profile(),
        "/api/v1/doses": {"regimen_id": str(uuid.uuid4()), "scheduled_for": f"{today()}T08:00", "status": "taken"},
    }
    fill = {"uuid": lambda: str(uuid.uuid4()), "date": lambda: today().isoformat(), "str": lambda: iso_week(today())}
    requests = []
    for route in app.routes:
        if not route.path.startswith(prefixes):
            continue
        path = re.sub(r"\{\w+:(\w+)\}", lambda m: fill[m.group(1)](), route.path)
        prefix = next(p for p in prefixes if route.path.startswith(p))
        for method in sorted(set(getattr(route, "methods", ())) - {"OPTIONS", "HEAD"}):
            requests.append((method, path, bodies[prefix] if method in {"PUT", "POST", "PATCH"} else None))
    return requests


async def test_diary_requests_cover_every_record_kind(app: Litestar) -> None:
    covered = {(method, path.split("/")[3]) for method, path, _ in diary_requests(app)}
    expected = {
        ("GET", "checkins"),
        ("PUT", "checkins"),
        ("GET", "penn"),
        ("PUT", "penn"),
        ("GET", "regimens"),
        ("PUT", "regimens"),
        ("DELETE", "regimens"),
        ("GET", "profile"),
        ("PUT", "profile"),
        ("GET", "episodes"),
        ("PUT", "episodes"),
        ("DELETE", "episodes"),
        ("GET", "doses"),
        ("PUT", "doses"),
    }
    assert expected <= covered
    assert len(diary_requests(app)) >= 15


async def test_signed_out_callers_get_401_on_every_diary_route(browser: Any, app: Litestar) -> None:
    stranger: Api = await browser()
    await stranger.refresh_csrf()
    for method, path, body in diary_requests(app):
        response = await stranger.request(method, path, json=body)
        problem = assert_problem(response, 401)
        assert problem["code"] == "not-signed-in", (method, path)


async def test_clinicians_get_403_on_every_diary_route(clinician: Api, app: Litestar) -> None:
    for method, path, body in diary_requests(app):
        headers = {"If-Match": '"1"'} if path == PROFILE and method == "PUT" else {}
        response = await clinician.request(method, path, json=body, headers=headers)
        problem = assert_problem(response, 403)
        assert problem["code"] == "patients-only", (method, path)


async def test_diary_writes_need_the_csrf_token(patient: Api) -> None:
    forged = {"x-csrf-token": "forged"}
    day = fresh_day()
    regimen_id = uuid.uuid4()
    week = iso_week(today())
    attempts = [
        ("PUT", checkin_url(day), minimal_checkin()),
        ("PUT", penn_url(week), {"frequency": 0}),
        ("PUT", regimen_url(regimen_id), regimen()),
        ("PUT", PROFILE, profile(time_zone="Asia/Tokyo")),
    ]
    for method, path, body in attempts:
        response = await patient.request(
            method, path, json=body, headers={**forged, "If-Match": '"1"'} if path == PROFILE else forged
        )
        assert assert_problem(response, 403)["code"] == "csrf-failed", path
    assert (await patient.get(checkin_url(day))).status_code == 404
    assert (await patient.get("/api/v1/penn")).json() == []
    assert (await patient.get(regimen_url(regimen_id))).status_code == 404
    assert (await patient.get(PROFILE)).json()["version"] == 1
    assert (await patient.put(regimen_url(regimen_id), json=regimen())).status_code == 201
    deleted = await patient.delete(regimen_url(regimen_id), headers=forged)
    assert assert_problem(deleted, 403)["code"] == "csrf-failed"
    assert (await patient.get(regimen_url(regimen_id))).status_code == 200
