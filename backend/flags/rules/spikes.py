"""The "sudden spasticity increase" test (S3 criteria), shared by S3, S6, U7 and U10."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from backend.flags.measures import baseline, count_baseline, logged_days, stiffness_on
from backend.flags.rules.base import Limit, Thresholds
from backend.flags.window import Diary, Ep

SPIKE = {"nrs_rise": 2.0, "count_ratio": 2.0, "min_baseline_per_day": 1.0}
SPIKE_LIMITS = {
    "nrs_rise": Limit(0.5, 10, "points of daily stiffness above baseline (3-day mean)", whole=False),
    "count_ratio": Limit(1.1, 10, "times the baseline daily count, two days running", whole=False),
    "min_baseline_per_day": Limit(0.1, 50, "lowest baseline (episodes a day) for the count test", whole=False),
}


class Spike(NamedTuple):
    episodes: list[Ep]  # on the spike's days and the baseline's
    days: list[dt.date]  # the spike's days and the baseline's
    spike_days: list[dt.date]  # the days of the increase itself: what a judgment of the spike covers


def spasticity_spike(diary: Diary, t: Thresholds) -> Spike | None:
    """(3-day mean daily stiffness NRS >= baseline + 2) or (daily episode count >= 2x baseline on 2 consecutive days,
    with a baseline of at least 1 a day). Returns the evidence (episodes, days) or None.

    Sources: MS Trust, MS Society, MSKTC (a sudden increase calls for a trigger check). +2 points is ANCHORED to the
    NRS clinically important difference (about 2 points / 30%, Farrar 2008); 2x is [DEFAULT].
    """
    today = diary.today
    logged = logged_days(diary)
    window = diary.days_back(3)
    start = window[0]
    nrs = stiffness_on(diary)
    recent_values = [v for d in window if (v := nrs(d)) is not None]
    if len(recent_values) >= 2:
        base = baseline(diary, nrs, start)
        if base is not None and sum(recent_values) / len(recent_values) >= base.value + t["nrs_rise"]:
            raised = [d for d in window if nrs(d) is not None]
            days = raised + list(base.days)
            return Spike(diary.episodes_on(set(days)), days, raised)
    for pair in ((today - dt.timedelta(days=2), today - dt.timedelta(days=1)), (today - dt.timedelta(days=1), today)):
        base = count_baseline(diary, pair[0])
        if base is None or base.value < t["min_baseline_per_day"]:
            continue
        if all(d in logged and len(diary.by_day.get(d, ())) >= t["count_ratio"] * base.value for d in pair):
            days = [*pair, *base.days]
            return Spike(diary.episodes_on(set(days)), days, list(pair))
    return None
