"""Adherence computed from dose records (flags/measures.adherence, read by rules R10 and S5 and the report) matches a
straightforward recount of the records, whatever the doses, days, plans and check-ins."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.flags.measures import CHECKIN_SCORE, adherence
from backend.flags.window import Day, Diary, DoseAnswer, Plan

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
TIMES = ("08:00", "14:00", "20:00")
PLANS = [
    Plan(
        uuid.UUID(int=i + 1),
        "muscle_relaxant",
        f"Medicine {i}",
        TODAY - dt.timedelta(days=30),
        None,
        False,
        TIMES[: i + 1],
    )
    for i in range(3)
]
DAYS = [TODAY - dt.timedelta(days=n) for n in range(20)]

doses_st = st.lists(
    st.tuples(
        st.sampled_from(PLANS),
        st.sampled_from(DAYS),
        st.sampled_from(TIMES),
        st.sampled_from(["taken", "skipped", "later"]),
    ),
    max_size=60,
    unique_by=lambda d: (d[0].id, d[1], d[2]),  # one record per dose (the table's unique slot)
)
checkins_st = st.dictionaries(st.sampled_from(DAYS), st.sampled_from(["all", "some", "none", "no_regular_medicines"]))


@PROPERTY
@given(records=doses_st, chosen=st.sets(st.sampled_from(PLANS), min_size=1), window=st.sets(st.sampled_from(DAYS)))
def test_adherence_from_dose_records_is_a_recount_of_them(records, chosen, window) -> None:  # type: ignore[no-untyped-def]
    doses = tuple(DoseAnswer(p.id, d, t, s) for p, d, t, s in records)
    measured = adherence(Diary(now=NOW, doses=doses), window, chosen)
    ids = {p.id for p in chosen}
    mine = [s for p, d, _t, s in records if p.id in ids and d in window]
    assert measured.taken == mine.count("taken")
    assert measured.counted == mine.count("taken") + mine.count("skipped")
    assert measured.share == (mine.count("taken") / measured.counted if measured.counted else None)
    assert measured.checkin_days == frozenset()


@PROPERTY
@given(records=doses_st, answers=checkins_st, chosen=st.sets(st.sampled_from(PLANS), min_size=1))
def test_a_day_is_counted_from_its_doses_or_else_from_its_checkin(records, answers, chosen) -> None:  # type: ignore[no-untyped-def]
    doses = tuple(DoseAnswer(p.id, d, t, s) for p, d, t, s in records)
    checkins = tuple(Day(day=d, meds_taken=a) for d, a in sorted(answers.items()))
    measured = adherence(Diary(now=NOW, doses=doses, checkins=checkins), DAYS, chosen)
    ids = {p.id for p in chosen}
    taken = counted = 0.0
    for d in DAYS:
        settled = [s for p, day, _t, s in records if day == d and p.id in ids and s != "later"]
        if settled:
            taken += settled.count("taken")
            counted += len(settled)
        elif answers.get(d) in CHECKIN_SCORE:
            planned = max(1, sum(len(p.times) for p in chosen))
            taken += CHECKIN_SCORE[answers[d]] * planned
            counted += planned
    assert measured.taken == taken and measured.counted == counted
    assert measured.dose_days.isdisjoint(measured.checkin_days)
