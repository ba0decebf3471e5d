"""The urgent-rule screen of the grouped episode writer (flags.screen.urgent_screen and quiet).

The screen decides, without the database, whether a write needs the full urgent evaluation before it is answered. Its
shortcut for quiet entries must never hide something the urgent rules themselves would flag: these properties run the
rules on every entry the screen clears.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from backend.diary import catalog
from backend.flags.engine import evaluate, rules_for
from backend.flags.rows import patient_from
from backend.flags.screen import SPIKE_RULES, quiet, screen_row, urgent_screen
from backend.flags.window import Diary, Ep
from tests.flags.test_properties import BASE_NOW, SETTINGS, ZONES, diaries, episode

CONDITIONS = [
    "idiopathic_cramps",
    "night_cramps",
    "other",
    "multiple_sclerosis",
    "spinal_cord_injury",
    "cerebral_palsy",
    "stroke",
]


@st.composite
def profiles(draw: st.DrawFn) -> Any:
    return SimpleNamespace(
        conditions=draw(st.lists(st.sampled_from(CONDITIONS), max_size=2, unique=True)),
        time_zone=draw(st.sampled_from(ZONES)),
        sci_level=draw(st.sampled_from([None, "C5", "T4", "T10", "L1"])),
        itb_pump=draw(st.booleans()),
        itb_refill_date=draw(st.sampled_from([None, dt.date(2026, 11, 1), dt.date(2026, 12, 30)])),
        baseline_systolic=draw(st.sampled_from([None, 110])),
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )


def urgent_findings(profile: Any, ep: Ep, now: dt.datetime) -> list[str]:
    diary = Diary(now=now, patient=patient_from(profile, None, {}), episodes=(ep,))
    urgent = [r.id for r in rules_for(diary) if r.urgency == "urgent"]
    return [f.rule_id for f in evaluate(diary, only=urgent).findings]


# Half the entries are near the quiet boundary (no symptom or context, up to an hour long), so that the shortcut is
# tried on many entries it clears and many it only just does not.
ENTRIES = st.one_of(episode(BASE_NOW, max_days=10), st.deferred(lambda: quiet_episodes(BASE_NOW, longest=3_600)))


@SETTINGS
@given(profile=profiles(), ep=ENTRIES)
def test_an_entry_called_quiet_never_raises_an_urgent_rule(profile: Any, ep: Ep) -> None:
    if quiet(ep):
        assert urgent_findings(profile, ep, BASE_NOW) == []


@SETTINGS
@given(profile=profiles(), ep=ENTRIES)
def test_the_screen_never_clears_an_entry_the_urgent_rules_would_flag(profile: Any, ep: Ep) -> None:
    if not urgent_screen(profile, False, BASE_NOW, episodes=(ep,)):
        assert urgent_findings(profile, ep, BASE_NOW) == []


def as_row(ep: Ep) -> Any:
    """The episode as the writer holds it: a stored row's columns."""
    return SimpleNamespace(
        id=ep.id,
        kind=ep.kind,
        started_at=ep.start,
        start_offset=ep.offset_minutes,
        intensity=ep.intensity,
        duration_seconds=ep.duration_seconds,
        ended_at=ep.end,
        ongoing=ep.ongoing,
        body_sites=[{"site": site, "side": side} for site, side in ep.sites],
        woke_from_sleep=ep.woke_from_sleep,
        triggers=sorted(ep.triggers),
        symptoms=sorted(ep.symptoms),
        context=sorted(ep.context),
        treatments=[{"kind": k, "relief": r, "minutes_to_relief": m} for k, r, m in ep.treatments],
    )


@SETTINGS
@given(profile=profiles(), ep=ENTRIES)
def test_the_screen_of_a_stored_row_agrees_with_the_rules(profile: Any, ep: Ep) -> None:
    if not screen_row(profile, False, as_row(ep), BASE_NOW):
        assert urgent_findings(profile, ep, BASE_NOW) == []
    # The row's shortcut and the full screen agree on what they clear.
    assert screen_row(profile, False, as_row(ep), BASE_NOW) == (
        ep.kind == "cramp"
        or bool(ep.context & {"fluid_loss", "diuretic_increase"})
        or urgent_screen(profile, False, BASE_NOW, episodes=(ep,))
    )


@st.composite
def quiet_episodes(draw: st.DrawFn, now: dt.datetime, longest: int = 600) -> Ep:
    """Entries the screen calls quiet (with the default ``longest``), varied in everything else: when, how strong,
    where, triggers, treatments. A larger ``longest`` also makes entries just past U1's limit."""
    ep = draw(episode(now, max_days=10))
    limit = draw(st.integers(0, longest))
    return dataclasses.replace(
        ep,
        kind=draw(st.sampled_from([k for k in catalog.codes(catalog.EpisodeKind) if k != "cramp"])),
        symptoms=frozenset(),
        context=frozenset(),
        ongoing=False,
        duration_seconds=limit if ep.duration_seconds is not None else None,
        end=ep.start + dt.timedelta(seconds=limit) if ep.end is not None else None,
    )


@SETTINGS
@given(diary=diaries(), data=st.data())
def test_a_quiet_entry_never_adds_an_urgent_finding_to_any_diary(diary: Diary, data: st.DataObject) -> None:
    """The screen clears a quiet entry without looking at the patient's history: that is only sound if, for every
    diary whose rules do not need weeks of history (U7, U10 take the full path), adding a quiet entry never makes an
    urgent rule fire that did not fire already."""
    urgent = [r.id for r in rules_for(diary) if r.urgency == "urgent"]
    assume(not set(urgent) & SPIKE_RULES)
    entry = data.draw(quiet_episodes(diary.now))
    assert quiet(entry)
    before = {f.rule_id for f in evaluate(diary, only=urgent).findings}
    after = {
        f.rule_id for f in evaluate(dataclasses.replace(diary, episodes=(*diary.episodes, entry)), only=urgent).findings
    }
    assert after <= before


def quick_log(**changes: Any) -> Ep:
    base: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": "spasm",
        "start": BASE_NOW - dt.timedelta(minutes=5),
        "offset_minutes": 60,
        "intensity": 6,
        "sites": (("calf", "left"),),
    }
    return Ep(**{**base, **changes})


def test_a_quick_log_is_cleared_and_warning_signs_are_not() -> None:
    cramps = SimpleNamespace(
        conditions=["idiopathic_cramps"],
        time_zone="Europe/Madrid",
        sci_level=None,
        itb_pump=False,
        itb_refill_date=None,
        baseline_systolic=None,
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )
    assert urgent_screen(cramps, False, BASE_NOW, episodes=(quick_log(),)) is False
    assert urgent_screen(cramps, False, BASE_NOW, episodes=(quick_log(duration_seconds=600),)) is False
    # Each of these reaches a rule (or may, with the rest of the diary), so the full check must run.
    assert quiet(quick_log(duration_seconds=601)) is False  # U1: longer than 10 minutes
    assert quiet(quick_log(ongoing=True)) is False  # U1: still going
    assert quiet(quick_log(kind="cramp")) is False  # U3, U5
    assert quiet(quick_log(context=frozenset({"recent_wound"}))) is False  # U2
    assert quiet(quick_log(symptoms=frozenset({"new_weakness"}))) is False  # U4
    assert urgent_screen(cramps, False, BASE_NOW, episodes=(quick_log(duration_seconds=900),)) is True
    # Threshold overrides, a missing profile, or rules that need weeks of history always take the full path.
    assert urgent_screen(cramps, True, BASE_NOW, episodes=(quick_log(),)) is True
    assert urgent_screen(None, False, BASE_NOW, episodes=(quick_log(),)) is True
    sci = SimpleNamespace(**{**vars(cramps), "conditions": ["spinal_cord_injury"]})
    assert {"U7", "U10"} & SPIKE_RULES and urgent_screen(sci, False, BASE_NOW, episodes=(quick_log(),)) is True
