"""Query parameters and cursors are decoded into a checked range: a time outside the years 1900-2199, or one without
an offset, is a problem naming the parameter, never a 500 (OverflowError, "naive datetime" in the column type). For
`from` and `to` it is a 400, and the OpenAPI document states their range; a cursor is an opaque string to the schema,
so one that does not decode into positions in range is a 422 (tests/test_fuzz_api.py: a request the schema allows is
never refused as malformed).

The outside tester's requests are here one by one; then Hypothesis builds cursors that look like the server's own
(base64 of plausible contents) with extreme dates, missing offsets, odd keys and odd UUIDs, which schemathesis cannot
produce, and every answer must be a 2xx or a 400 problem about that very parameter. The suite runs on SQLite and on
PostgreSQL, and so does this file.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.shared import instants
from tests.conftest import Api

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
NIL = "00000000-0000-0000-0000-000000000000"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def assert_names(response: httpx.Response, parameter: str, status: int = 400) -> None:
    """A problem about this one parameter: 400 for a query parameter (its range is in the schema), 422 for a cursor
    (an opaque string to the schema: refused for a rule the schema cannot state)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == ("invalid-request" if status == 400 else "invalid-data")
    assert [e["field"] for e in problem["errors"]] == [parameter], problem


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("from", "0001-01-01T00:00:00+14:00"),
        ("to", "9999-12-31T23:59:59-14:00"),
        ("from", "0001-01-01T00:00:00Z"),
        ("to", "9999-12-31T23:59:59Z"),
        ("from", "1899-12-31T23:59:59Z"),
        ("to", "2200-01-01T00:00:00Z"),
        ("from", "2026-11-01T00:00:00"),  # no offset
        ("to", "2026-11-01"),  # not a date and time
    ],
)
async def test_episode_filters_out_of_range_or_naive_are_400(patient: Api, parameter: str, value: str) -> None:
    assert_names(await patient.get("/api/v1/episodes", params={parameter: value}), parameter)


@pytest.mark.parametrize(
    "content",
    [
        f"2026-11-01T10:00:00|{NIL}",  # no offset
        f"0001-01-01T00:00:00+14:00|{NIL}",
        f"9999-12-31T23:59:59-14:00|{NIL}",
        "2026-11-01T10:00:00+00:00|not-a-uuid",
        "2026-11-01T10:00:00+00:00",
        f"2026-11-01T10:00:00+00:00|{NIL}|extra",
    ],
)
async def test_an_episodes_cursor_out_of_range_naive_or_malformed_is_refused(patient: Api, content: str) -> None:
    assert_names(await patient.get("/api/v1/episodes", params={"cursor": b64(content)}), "cursor", 422)


@pytest.mark.parametrize(
    "position",
    [
        ["0001-01-01T00:00:00+14:00", None],
        ["9999-12-31T23:59:59-14:00", None],
        ["0001-01-01T00:00:00+00:00", NIL],
        ["9999-12-31T23:59:59+00:00", None],
        ["2026-01-01T00:00:00", None],
    ],
)
async def test_a_sync_cursor_in_year_1_or_9999_or_naive_is_refused(patient: Api, position: list[Any]) -> None:
    since = b64(json.dumps({"e": position}))
    assert_names(await patient.get("/api/v1/sync", params={"since": since}), "since", 422)


async def test_check_in_filters_out_of_range_are_400(patient: Api) -> None:
    assert_names(await patient.get("/api/v1/checkins", params={"from": "0001-01-01"}), "from")
    assert_names(await patient.get("/api/v1/checkins", params={"to": "9999-12-31"}), "to")
    assert (await patient.get("/api/v1/checkins", params={"from": "2026-01-01", "to": "2026-02-01"})).status_code == 200


async def test_the_servers_own_cursors_and_plausible_filters_still_work(patient: Api) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    for hours in (0, 1):
        started = (start + dt.timedelta(hours=hours)).isoformat()
        body = {
            "kind": "cramp",
            "started_at": started,
            "intensity": 2,
            "body_sites": [{"site": "calf", "side": "left"}],
        }
        assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201
    window = {"from": "1900-01-01T14:00:00+14:00", "to": "2199-12-31T09:59:59-14:00", "limit": 1}  # the very edges
    first = await patient.get("/api/v1/episodes", params=window)
    assert first.status_code == 200, first.text
    second = await patient.get("/api/v1/episodes", params={**window, "cursor": first.json()["next_cursor"]})
    assert second.status_code == 200 and len(second.json()["items"]) == 1
    feed = await patient.get("/api/v1/sync")
    assert (await patient.get("/api/v1/sync", params={"since": feed.json()["cursor"]})).status_code == 200


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1850-06-01T10:00:00Z"])
async def test_a_body_time_outside_the_range_is_422_naming_its_field(patient: Api, moment: str) -> None:
    """In a body the range is a rule the schema cannot state (422), like the diary's own "more than 10 years ago"."""
    body = {"kind": "cramp", "started_at": moment, "intensity": 2, "body_sites": [{"site": "calf", "side": "left"}]}
    for url, payload, field in (
        (f"/api/v1/episodes/{uuid.uuid4()}", body, "started_at"),
        ("/api/v1/checkins/2026-11-01", {"no_episodes": True, "entered_at": moment}, "entered_at"),
    ):
        response = await patient.put(url, json=payload)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_documented_patterns_hold_only_times_inside_the_range() -> None:
    """The schema's patterns (1901-2198 for times, 1900-2199 for days) must never admit a value the server refuses."""
    import re as regex

    for year in range(1, 10000):
        stamp = f"{year:04d}-06-01T00:00:00"
        if regex.match(instants.TIME_PATTERN, stamp):
            for offset in ("+14:00", "-14:00"):
                assert instants.instant_problem(dt.datetime.fromisoformat(stamp + offset)) is None, stamp
        if regex.match(instants.DAY_PATTERN, stamp):
            assert (
                instants.day_problem(dt.date(year, 1, 1)) is None
                and instants.day_problem(dt.date(year, 12, 31)) is None
            )
    assert regex.match(instants.TIME_PATTERN, "2026-11-01T00:00:00Z")
    assert not regex.match(instants.TIME_PATTERN, "0001-01-01T00:00:00+14:00")


def test_the_range_itself() -> None:
    plus14 = dt.timezone(dt.timedelta(hours=14))
    assert instants.instant_problem(dt.datetime(1, 1, 1, tzinfo=plus14)) == instants.OUTSIDE
    assert instants.instant_problem(dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(-dt.timedelta(hours=14))))
    assert instants.instant_problem(dt.datetime(2026, 1, 1)) == instants.NAIVE
    assert instants.instant_problem(dt.datetime(1900, 1, 1, tzinfo=dt.UTC)) is None
    assert instants.instant_problem(dt.datetime(1900, 1, 1, 13, tzinfo=plus14)) == instants.OUTSIDE  # 1899 in UTC
    assert instants.instant_problem(dt.datetime(2199, 12, 31, 23, 59, tzinfo=dt.UTC)) is None
    assert instants.day_problem(dt.date(1, 1, 1)) == instants.OUTSIDE
    assert instants.day_problem(dt.date(2026, 5, 1)) is None


# ---- fuzzing the cursors ----------------------------------------------------------------------------------------------

OFFSETS = st.sampled_from(["", "Z", "+00:00", "+14:00", "-14:00", "+05:30", "-00:00", "+23:59", "+1400"])
YEARS = st.sampled_from([1, 2, 999, 1000, 1899, 1900, 1970, 2026, 2199, 2200, 9998, 9999]) | st.integers(1, 9999)


@st.composite
def times(draw: st.DrawFn) -> str:
    year = draw(YEARS)
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59", "12:30:00.123456", "24:00:00", "10:00"]))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{clock}{draw(OFFSETS)}"


ODD_UUIDS = st.sampled_from(
    [
        NIL,
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        str(uuid.uuid4()).upper(),
        "{" + str(uuid.uuid4()) + "}",
        "urn:uuid:" + str(uuid.uuid4()),
        uuid.uuid4().hex,
        str(uuid.uuid4())[:-1],
        "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
        "",
        " " + str(uuid.uuid4()),
    ]
) | st.uuids().map(str)
KEYS = st.none() | ODD_UUIDS | times() | st.sampled_from(["2026-11-01", "0001-01-01", "9999-12-31", "2026-W48", ""])
JSON_ODDITIES = st.sampled_from([1, 1.5, True, [], {}, ["a"], [None, None], [1, 2, 3]])


@st.composite
def episode_cursors(draw: st.DrawFn) -> str:
    parts = [draw(times()), draw(ODD_UUIDS)]
    if draw(st.booleans()) and draw(st.booleans()):
        parts.append(draw(ODD_UUIDS))
    encoded = b64(draw(st.sampled_from(["|", "||", ",", "|"])).join(parts))
    return draw(st.sampled_from([encoded, encoded.rstrip("="), encoded + "=="]))


@st.composite
def sync_cursors(draw: st.DrawFn) -> str:
    codes = st.sampled_from(["e", "c", "p", "r", "x", "E", ""])
    position = st.one_of(st.tuples(times(), KEYS).map(list), JSON_ODDITIES)
    content = draw(st.dictionaries(codes, position, max_size=4))
    return b64(json.dumps(content))


@given(cursor=episode_cursors(), window=st.sampled_from([{}, {"from": "2026-01-01T00:00:00Z"}, {"limit": 1}]))
@FUZZ
async def test_no_episodes_cursor_gets_a_5xx(patient: Api, cursor: str, window: dict[str, str]) -> None:
    response = await patient.get("/api/v1/episodes", params={**window, "cursor": cursor})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_names(response, "cursor", 422)


@given(since=sync_cursors())
@FUZZ
async def test_no_sync_cursor_gets_a_5xx(patient: Api, since: str) -> None:
    response = await patient.get("/api/v1/sync", params={"since": since})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_names(response, "since", 422)


@given(start=times(), end=times())
@FUZZ
async def test_no_episode_filter_gets_a_5xx(patient: Api, start: str, end: str) -> None:
    response = await patient.get("/api/v1/episodes", params={"from": start, "to": end})
    assert response.status_code in (200, 400, 422), response.text
    assert response.status_code == 200 or response.json()["errors"][0]["field"] in {"from", "to"}
