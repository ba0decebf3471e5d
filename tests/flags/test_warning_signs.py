"""A warning sign reaches the patient in the answer to the very write that carries it, whatever their condition
(CLINICAL.md (a), implementation note 4 as corrected on 2026-12-04: rules whose row says "any" run for every
condition; profiles only add the rules whose meaning depends on the condition).

The same property three ways: through the rules themselves (every sign, every condition profile), and end to end over
HTTP (a new patient with a random profile and language, the sign sent in a create, added later by an edit, or ticked
on the browser's form), for episodes and for check-ins.
"""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from backend.diary import catalog
from backend.flags.engine import ANY_CONDITION, evaluate
from backend.flags.rows import patient_from
from backend.flags.rules.words import said
from backend.flags.screen import urgent_screen
from backend.flags.window import Day, Diary, Ep
from backend.flags.wording import patient_words
from tests.conftest import Api
from tests.support.pages import page, submit

CONDITIONS = catalog.codes(catalog.Condition)
CALF = [{"site": "calf", "side": "left"}]
# Each "any" urgent rule with the episode fields that carry its warning sign (CLINICAL.md (a), Urgent).
EPISODE_SIGNS: list[tuple[str, dict[str, Any]]] = [
    ("U1", {"duration_seconds": 15 * 60}),
    ("U2", {"context": ["recent_wound"]}),
    ("U2", {"context": ["toxin_exposure"]}),
    ("U3", {"kind": "cramp", "body_sites": [{"site": "chest", "side": "middle"}]}),
    ("U3", {"kind": "cramp", "body_sites": [{"site": "upper_arm", "side": "left"}]}),
    ("U3", {"kind": "cramp", "body_sites": [{"site": "abdomen", "side": "middle"}]}),
    ("U4", {"symptoms": ["new_weakness"]}),
    ("U4", {"symptoms": ["new_numbness"]}),
    ("U4", {"symptoms": ["twitching"]}),
    ("U5", {"kind": "cramp", "context": ["fluid_loss"]}),
    ("U5", {"kind": "cramp", "context": ["diuretic_increase"]}),
    ("U6", {"symptoms": ["swelling", "redness"]}),
    ("U6", {"symptoms": ["swelling", "warmth"]}),
    ("U6", {"symptoms": ["swelling", "skin_change"]}),
    ("U9", {"symptoms": ["breathing_difficulty"]}),
    ("U9", {"symptoms": ["swallowing_difficulty"]}),
]
CHECKIN_SIGNS: list[tuple[str, list[str]]] = [
    ("U4", ["new_weakness"]),
    ("U4", ["new_numbness"]),
    ("U4", ["twitching"]),
    ("U6", ["swelling", "redness"]),
    ("U6", ["swelling", "warmth"]),
]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
HTTP = settings(max_examples=24, deadline=None, suppress_health_check=list(HealthCheck))


def test_the_signs_here_cover_every_rule_that_runs_for_any_condition() -> None:
    urgent_any = {r for r in ANY_CONDITION if r.startswith("U")}
    assert {rule for rule, _ in EPISODE_SIGNS} == urgent_any


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=3, unique=True))
    sci = "spinal_cord_injury" in conditions
    return {
        "conditions": conditions,
        "sci_level": draw(st.sampled_from(["C5", "T4", "T10", None])) if sci else None,
        "itb_pump": draw(st.booleans()),
        "time_zone": "Europe/Madrid",
        "language": draw(st.sampled_from(["en", "es"])),
    }


def _episode(fields: dict[str, Any], now: dt.datetime) -> Ep:
    body = {"kind": "spasm", "body_sites": CALF, **fields}
    return Ep(
        id=uuid.uuid4(),
        kind=body["kind"],
        start=now - dt.timedelta(hours=1),
        offset_minutes=60,
        intensity=5,
        duration_seconds=body.get("duration_seconds"),
        sites=tuple((b["site"], b["side"]) for b in body["body_sites"]),
        symptoms=frozenset(body.get("symptoms", ())),
        context=frozenset(body.get("context", ())),
    )


@PROPERTY
@given(profile=profiles(), sign=st.sampled_from(EPISODE_SIGNS), quiet_days=st.integers(0, 20))
def test_every_warning_sign_raises_its_rule_for_every_condition(
    profile: dict[str, Any], sign: tuple[str, dict[str, Any]], quiet_days: int
) -> None:
    """The rules themselves, with weeks of ordinary entries around the sign; and the writer's screen never clears it."""
    rule_id, fields = sign
    now = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        **profile, itb_refill_date=None, baseline_systolic=None, sleep_start=dt.time(23), sleep_end=dt.time(7)
    )
    who = patient_from(row, now.date() - dt.timedelta(days=90), {})
    ordinary = [_episode({}, now - dt.timedelta(days=d)) for d in range(quiet_days)]
    entry = _episode(fields, now)
    diary = Diary(now=now, patient=who, episodes=(*ordinary, entry))
    fired = {f.rule_id: f for f in evaluate(diary).findings}
    assert rule_id in fired, (rule_id, profile["conditions"])
    assert entry.id in fired[rule_id].episode_ids
    assert urgent_screen(row, False, now, episodes=(entry,))


@PROPERTY
@given(profile=profiles(), sign=st.sampled_from(CHECKIN_SIGNS))
def test_every_warning_sign_on_a_check_in_raises_its_rule_for_every_condition(
    profile: dict[str, Any], sign: tuple[str, list[str]]
) -> None:
    rule_id, symptoms = sign
    now = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        **profile, itb_refill_date=None, baseline_systolic=None, sleep_start=dt.time(23), sleep_end=dt.time(7)
    )
    day = Day(day=dt.date(2026, 12, 4), symptoms=frozenset(symptoms))
    diary = Diary(now=now, patient=patient_from(row, None, {}), checkins=(day,))
    assert rule_id in {f.rule_id for f in evaluate(diary).findings}
    assert urgent_screen(row, False, now, day=day)


@PROPERTY
@given(profile=profiles(), sign=st.sampled_from(["itching", "fever_or_chills", "confusion", "racing_heart"]))
def test_a_pump_alarm_with_a_withdrawal_sign_raises_u7_whatever_the_condition(
    profile: dict[str, Any], sign: str
) -> None:
    """U7 follows the baclofen pump, not the condition profile."""
    now = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        **{**profile, "itb_pump": True},
        itb_refill_date=None,
        baseline_systolic=None,
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )
    entry = _episode({"context": ["itb_pump_alarm"], "symptoms": [sign]}, now)
    diary = Diary(now=now, patient=patient_from(row, None, {}), episodes=(entry,))
    assert "U7" in {f.rule_id for f in evaluate(diary).findings}
    assert urgent_screen(row, False, now, episodes=(entry,))


@PROPERTY
@given(
    others=st.lists(st.sampled_from(CONDITIONS), max_size=2, unique=True),
    level=st.sampled_from(["C4", "C7", "T1", "T6"]),
    sign=st.sampled_from(["pounding_headache", "flushing_or_sweating"]),
)
def test_autonomic_dysreflexia_signs_raise_u8_at_or_above_t6_whatever_else(
    others: list[str], level: str, sign: str
) -> None:
    now = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        conditions=["spinal_cord_injury", *others],
        sci_level=level,
        itb_pump=False,
        time_zone="Europe/Madrid",
        itb_refill_date=None,
        baseline_systolic=None,
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )
    entry = _episode({"symptoms": [sign]}, now)
    diary = Diary(now=now, patient=patient_from(row, None, {}), episodes=(entry,))
    assert "U8" in {f.rule_id for f in evaluate(diary).findings}


@PROPERTY
@given(
    condition=st.sampled_from(["spinal_cord_injury", "cerebral_palsy", "stroke"]),
    others=st.lists(st.sampled_from(CONDITIONS), max_size=2, unique=True),
    fever=st.sampled_from([{"symptoms": frozenset({"fever_or_chills"})}, {"temperature_c": 38.4}]),
)
def test_a_spike_with_fever_raises_u10_for_every_profile_that_has_it(
    condition: str, others: list[str], fever: dict[str, Any]
) -> None:
    now = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        conditions=[condition, *others],
        sci_level=None,
        itb_pump=False,
        time_zone="UTC",
        itb_refill_date=None,
        baseline_systolic=None,
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )
    today = now.date()
    usual = [_episode({}, now - dt.timedelta(days=d)) for d in range(2, 30)]  # one a day for four weeks
    spike = [_episode({}, now - dt.timedelta(days=d, minutes=m)) for d in (0, 1) for m in range(3)]
    checkins = tuple(Day(day=today - dt.timedelta(days=d), **(fever if d == 0 else {})) for d in range(30))
    diary = Diary(now=now, patient=patient_from(row, None, {}), episodes=(*usual, *spike), checkins=checkins)
    assert "U10" in {f.rule_id for f in evaluate(diary).findings}


# --- end to end ----------------------------------------------------------------------------------------------------


async def _patient(browser: Any, profile: dict[str, Any]) -> Api:
    api: Api = await browser()
    await api.register("patient")
    current = (await api.get("/api/v1/profile")).json()
    answer = await api.put("/api/v1/profile", json=profile, headers={"If-Match": f'"{current["version"]}"'})
    assert answer.status_code == 200, answer.text
    return api


def expected(rule_id: str, language: str, shown: str) -> str:
    """The advice as the answer gave it, checked to be in the patient's language: the rule's own words in Spanish (its
    template translated, not one sentence for all), or English."""
    if language == "en":
        assert "medical help now" in shown
        return shown
    assert "Busca ayuda médica ahora" in shown and "medical help" not in shown, (rule_id, shown)
    assert shown != patient_words("U9" if rule_id != "U9" else "U4", said("U9" if rule_id != "U9" else "U4"), language)
    return shown


def _episode_body(fields: dict[str, Any]) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    return {"kind": "spasm", "started_at": started.isoformat(), "intensity": 5, "body_sites": CALF, **fields}


def _form_fields(fields: dict[str, Any], version: int) -> dict[str, Any]:
    """The details form a patient fills in for the same sign."""
    body = {"kind": "spasm", "body_sites": CALF, **fields}
    form: dict[str, Any] = {
        "version": str(version),
        "kind": body["kind"],
        "intensity": "5",
        "where": [f"{b['site']}:{b['side']}" for b in body["body_sites"]],
        "symptoms": body.get("symptoms", []),
        "context": body.get("context", []),
    }
    if "duration_seconds" in body:
        form["duration_minutes"] = str(body["duration_seconds"] // 60)
    return form


def _rules(answer: Any) -> dict[str, str]:
    return {n["rule_id"]: n["message"] for n in answer.json()["safety"]}


@HTTP
@given(profile=profiles(), sign=st.sampled_from(EPISODE_SIGNS), route=st.sampled_from(["create", "edit", "form"]))
async def test_the_answer_to_the_write_carries_the_advice_whatever_the_condition_and_route(
    browser: Any, profile: dict[str, Any], sign: tuple[str, dict[str, Any]], route: str
) -> None:
    rule_id, fields = sign
    api = await _patient(browser, profile)
    episode_id = uuid.uuid4()
    url = f"/api/v1/episodes/{episode_id}"
    if route == "create":
        answer = await api.put(url, json=_episode_body(fields))
        assert answer.status_code == 201, answer.text
        got = _rules(answer)
    elif route == "edit":  # the usual path: a quick log first, the details after
        quick = await api.put(url, json=_episode_body({}))
        assert quick.status_code == 201 and quick.json()["safety"] == []
        answer = await api.put(url, json=_episode_body(fields), headers={"If-Match": '"1"'})
        assert answer.status_code == 200, answer.text
        got = _rules(answer)
    else:
        logged = await submit(api, "/log", {"id": str(episode_id), "intensity": "5", "where": "calf:left", "ago": "0"})
        assert logged.status_code == 303, logged.text
        sent = await submit(api, f"/episodes/{episode_id}", _form_fields(fields, 1))
        assert sent.status_code == 303, sent.text
        shown = await page(api, sent.headers["location"])
        got = _rules(await api.get(url))
        for message in got.values():
            assert str(escape(message)) in shown.text
    assert rule_id in got, (rule_id, profile, route, got)
    assert got[rule_id] == expected(rule_id, profile["language"], got[rule_id])


@HTTP
@given(profile=profiles(), sign=st.sampled_from(CHECKIN_SIGNS), route=st.sampled_from(["api", "form"]))
async def test_a_check_in_with_a_warning_sign_answers_with_the_advice(
    browser: Any, profile: dict[str, Any], sign: tuple[str, list[str]], route: str
) -> None:
    rule_id, symptoms = sign
    api = await _patient(browser, profile)
    day = dt.datetime.now(dt.UTC).date()
    if route == "api":
        answer = await api.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "symptoms": symptoms})
        assert answer.status_code == 201, answer.text
        got = _rules(answer)
    else:
        shown = await submit(api, f"/check-in/{day}", {"symptoms": symptoms})
        assert shown.status_code == 200, shown.text  # the page itself, with the advice, instead of a redirect
        got = _rules(await api.get(f"/api/v1/checkins/{day}"))
        for message in got.values():
            assert str(escape(message)) in shown.text
    assert rule_id in got
    assert got[rule_id] == expected(rule_id, profile["language"], got[rule_id])
