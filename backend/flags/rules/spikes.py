"""The "sudden spasticity increase" test (S3 criteria), shared by S3, S6, U7 and U10."""

from __future__ import annotations

import datetime as dt

from backend.flags.measures import baseline, count_baseline, logged_days, stiffness_on
from backend.flags.rules.base import Thresholds
from backend.flags.window import Diary, Ep

Spike = tuple[list[Ep], list[dt.date]]


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
            days = [d for d in window if nrs(d) is not None] + list(base.days)
            return diary.episodes_on(set(days)), days
    for pair in ((today - dt.timedelta(days=2), today - dt.timedelta(days=1)), (today - dt.timedelta(days=1), today)):
        base = count_baseline(diary, pair[0])
        if base is None or base.value < t["min_baseline_per_day"]:
            continue
        if all(d in logged and len(diary.by_day.get(d, ())) >= t["count_ratio"] * base.value for d in pair):
            days = [*pair, *base.days]
            return diary.episodes_on(set(days)), days
    return None
