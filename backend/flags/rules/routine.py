"""Routine rules R1-R11 (CLINICAL.md section (a), "Routine"): raise at the next review or book an appointment. The
rules about treatment (R4, R7, R10) are in treatment.py."""

from __future__ import annotations

import datetime as dt
import math
import statistics
import uuid

from backend.flags.measures import (
    baseline,
    completeness,
    logged_days,
    night_of,
    nights_disturbed,
    stiffness_on,
    weekly_counts,
)
from backend.flags.rules.base import Finding, Limit, Rule, Thresholds, finding, recent
from backend.flags.rules.treatment import DAYS, SHARE, TREATMENT_RULES
from backend.flags.rules.words import said
from backend.flags.window import Diary, Ep

OBVIOUS_CAUSES = frozenset({"exercise", "walking", "dehydration"})


def _weeks(diary: Diary, n: int) -> list[set[dt.date]]:
    """n consecutive rolling 7-day windows ending today, oldest first."""
    return [set(diary.days_back(7, end=diary.today - dt.timedelta(days=7 * w))) for w in range(n - 1, -1, -1)]


def _frequent(diary: Diary, t: Thresholds, end: dt.date) -> list[Ep] | None:
    weeks = [set(diary.days_back(7, end=end - dt.timedelta(days=7))), set(diary.days_back(7, end=end))]
    per_week = [diary.episodes_on(w) for w in weeks]
    if all(len(w) >= t["per_week"] for w in per_week):
        return per_week[0] + per_week[1]
    if "night_cramps" in diary.patient.conditions:
        month = diary.episodes_on(set(diary.days_back(28, end=end)))
        if len(month) >= t["per_28_days_night"]:
            return month
    return None


def frequent_episodes(diary: Diary, t: Thresholds) -> Finding | None:
    """R1. Sources: NHS, Mayo, MedlinePlus ("frequent": see a doctor). >= 3 a week is ANCHORED to NICE CKS (40% of
    older people with cramps have 3 or more a week); >= 6 a month to the Connolly 1992 trial entry criterion."""
    hits = _frequent(diary, t, diary.today)
    if hits is None:
        return None
    counts = weekly_counts(diary, 2)
    return finding(
        "R1",
        episodes=hits,
        window=(diary.today - dt.timedelta(days=13), diary.today),
        patient=said("R1", first=counts[0], second=counts[1]),
        clinician=f"Frequent episodes: {counts[0]} and {counts[1]} in two consecutive weeks "
        f"(threshold {int(t['per_week'])}/week).",
        measures={"week_1": counts[0], "week_2": counts[1]},
    )


def sleep_disruption(diary: Diary, t: Thresholds) -> Finding | None:
    """R2. Sources: NHS (disturbing your sleep: see a GP); MHRA ("regularly disrupt sleep"). Numbers [DEFAULT]."""
    weeks = _weeks(diary, 2)
    woke = [nights_disturbed(diary, w) for w in weeks]  # nights, not calendar days: 23:30 and 02:00 are one
    if all(len(w) >= t["nights_per_week"] for w in woke):
        nights = woke[0] | woke[1]
        eps = [e for e in diary.episodes_on(weeks[0] | weeks[1]) if e.woke_from_sleep and night_of(e) in nights]
        return finding(
            "R2",
            episodes=eps,
            window=(min(weeks[0]), max(weeks[1])),
            patient=said("R2_NIGHTS", first=len(woke[0]), second=len(woke[1])),
            clinician=f"Sleep disrupted on {len(woke[0])} and {len(woke[1])} nights in two consecutive "
            f"weeks (threshold {int(t['nights_per_week'])}/week).",
        )
    means = []
    for w in weeks:
        values = [c.sleep_disturbance for c in diary.checkins if c.day in w and c.sleep_disturbance is not None]
        means.append(statistics.mean(values) if values else None)
    if all(m is not None and m >= t["mean_nrs"] for m in means):
        days = [c for c in diary.checkins if c.day in weeks[0] | weeks[1] and c.sleep_disturbance is not None]
        return finding(
            "R2",
            days=days,
            window=(min(weeks[0]), max(weeks[1])),
            patient=said("R2_SCORE"),
            clinician=f"Weekly mean sleep-disturbance NRS {means[0]:.1f} and {means[1]:.1f} "
            f"(threshold {t['mean_nrs']}).",
        )
    return None


def _severe(diary: Diary, t: Thresholds, end: dt.date) -> list[Ep] | None:
    days = set(diary.days_back(int(t["days"]), end=end))
    window = diary.episodes_on(days)
    severe = [e for e in window if e.intensity >= t["intensity"]]
    worst = [e for e in window if e.intensity >= 10]
    if len(severe) >= t["count"]:
        return severe
    return worst or None


def severe_episodes(diary: Diary, t: Thresholds) -> Finding | None:
    """R3. Sources: Mayo ("very painful"), MedlinePlus ("severe"). >= 7/10 as "severe" is [DEFAULT]."""
    hits = _severe(diary, t, diary.today)
    if hits is None:
        return None
    return finding(
        "R3",
        episodes=hits,
        patient=said("R3_MANY" if len(hits) > 1 else "R3_ONE", n=len(hits)),
        clinician=f"{len(hits)} episode(s) rated >= {int(t['intensity'])}/10 in {int(t['days'])} d, or "
        f"one rated 10/10.",
    )


def persistent_pattern(diary: Diary, t: Thresholds) -> Finding | None:
    """R5. Source: MedlinePlus ("keep coming back", "last a long time"). 3 of 4 weeks is [DEFAULT]."""
    weeks = _weeks(diary, 4)
    with_episodes = [w for w in weeks if diary.episodes_on(w)]
    if len(with_episodes) < t["weeks"]:
        return None
    frequency = {"per_week": t["per_week"], "per_28_days_night": t["per_28_days_night"]}
    severity = {"days": 14, "intensity": t["intensity"], "count": t["severe_count"]}
    # "R1 or R3 fired at least once in that period": as of any day of the four weeks. What they saw then may reach
    # back before the four weeks; it is cited, and the window widens to hold it (rules/base.py finding).
    hits: dict[uuid.UUID, Ep] = {}
    for end in diary.days_back(28):
        for e in _frequent(diary, frequency, end) or _severe(diary, severity, end) or []:
            hits[e.id] = e
    if not hits:
        return None
    in_weeks: dict[uuid.UUID, Ep] = {e.id: e for w in weeks for e in diary.episodes_on(w)}
    episodes = list({**in_weeks, **hits}.values())
    return finding(
        "R5",
        episodes=episodes,
        window=(min(weeks[0]), diary.today),
        signs=in_weeks.values(),
        patient=said("R5", n=len(with_episodes)),
        clinician=f"Episodes in {len(with_episodes)}/4 weeks with a frequent (R1) or severe (R3) pattern "
        "in the period.",
    )


def _poisson_ratio_p(newer: int, older: int) -> float:
    """One-sided p-value that the newer count is higher by chance, equal exposure (conditional binomial test)."""
    n = newer + older
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(newer, n + 1)) / 2**n


def worsening_trend(diary: Diary, t: Thresholds) -> Finding | None:
    """R6. Magnitude ANCHORED to Farrar 2008 / Collin 2010 (30%, about 2 points; validated for improvement, used here
    for worsening). The count ratio, minimum count and the Poisson rate-ratio test are [DEFAULT]."""
    recent14 = diary.days_back(14)
    nrs = stiffness_on(diary)
    values = [v for d in recent14 if (v := nrs(d)) is not None]
    if len(values) >= 7:
        measure, value_of, what = "stiffness NRS", nrs, "stiffness"
    else:
        # Without enough daily stiffness ratings, the mean intensity of the episodes themselves (CLINICAL.md: "or
        # mean episode intensity").
        def value_of(d: dt.date) -> float | None:
            day = diary.by_day.get(d)
            return statistics.mean(e.intensity for e in day) if day else None

        measure, what = "mean episode intensity", "episodes have been"
        values = [v for d in recent14 if (v := value_of(d)) is not None]
    if len(values) >= 7:
        base = baseline(diary, value_of, recent14[0])
        mean = sum(values) / len(values)
        if base is not None and mean >= base.value * t["ratio_nrs"] and mean >= base.value + t["points"]:
            raised = [d for d in recent14 if value_of(d) is not None]
            days = raised + list(base.days)
            return finding(
                "R6",
                episodes=diary.episodes_on(set(days)),
                extra_days=days,
                signs=raised,
                window=(recent14[0], diary.today),
                patient=said("R6_STIFFNESS" if what == "stiffness" else "R6_EPISODES"),
                clinician=f"14-day {measure} {mean:.1f} vs baseline {base.value:.1f} (>= +30% and >= +2 points).",
                measures={"mean": mean, "baseline": base.value},
            )
    newer_days = set(diary.days_back(28))
    older_days = set(diary.days_back(28, end=diary.today - dt.timedelta(days=28)))
    newer, older = diary.episodes_on(newer_days), diary.episodes_on(older_days)
    if (
        len(newer) >= t["min_count"]
        and len(newer) >= t["ratio_count"] * len(older)
        and _poisson_ratio_p(len(newer), len(older)) < t["p"]
    ):
        return finding(
            "R6",
            episodes=[*older, *newer],
            extra_days=older_days & logged_days(diary),
            window=(min(older_days), diary.today),
            signs=newer,
            patient=said("R6_COUNT", newer=len(newer), older=len(older)),
            clinician=f"4-week episode count {len(newer)} vs {len(older)} in the previous 4 weeks "
            f"(>= {t['ratio_count']}x, Poisson rate-ratio p < {t['p']}).",
        )
    return None


def wasting_or_weakness(diary: Diary, t: Thresholds) -> Finding | None:
    """R8. Sources: older NHS text (muscles shrinking or becoming weaker: see a GP); Cleveland Clinic."""
    days = recent(diary, int(t["days"]))
    episodes = [e for e in diary.episodes_on(days) if "muscle_wasting" in e.symptoms]
    checkins = [c for c in diary.checkins if c.day in days and "muscle_wasting" in c.symptoms]
    if not episodes and not checkins:
        return None
    return finding(
        "R8",
        episodes=episodes,
        days=checkins,
        patient=said("R8"),
        clinician="Patient reports gradual muscle wasting or weakness.",
    )


def no_obvious_cause(diary: Diary, t: Thresholds) -> Finding | None:
    """R9, a modifier on R1. Source: Mayo (cramps not linked to an obvious cause such as hard exercise). 50% is
    [DEFAULT]."""
    hits = _frequent(diary, t, diary.today)
    if hits is None:
        return None
    unexplained = [
        e
        for e in hits
        if not (e.triggers - {"none_known"}) and not (e.triggers & OBVIOUS_CAUSES) and "fluid_loss" not in e.context
    ]
    if len(unexplained) / len(hits) < t["share"]:
        return None
    return finding(
        "R9",
        episodes=hits,
        patient=said("R9"),
        clinician=f"{len(unexplained)}/{len(hits)} of the frequent episodes have no trigger, exercise or "
        "dehydration recorded.",
    )


def data_gap(diary: Diary, t: Thresholds) -> Finding | None:
    """R11 [DEFAULT]: fewer than 4 diary days in the last 7. Also silences R1, R2, R5, R6 (and S3, S6)."""
    logged, n = completeness(diary, 7)
    if logged >= t["min_days"]:
        return None
    window = diary.days_back(7)
    enrolled = diary.patient.enrolled_on
    if enrolled is not None and enrolled > window[0]:
        return None  # too new to have a gap
    days = [c for c in diary.checkins if c.day in set(window)]
    return finding(
        "R11",
        episodes=diary.episodes_on(set(window)),
        days=days,
        window=(window[0], window[-1]),
        signs=window,  # the week itself: a judged gap comes back only over a week it did not cover
        patient=said("R11"),
        clinician=f"Data insufficient: {logged}/{n} days logged in the last week; frequency and trend "
        "rules are suppressed.",
        measures={"days_logged": logged},
    )


FREQUENT = {"per_week": 3, "per_28_days_night": 6}
FREQUENT_LIMITS = {
    "per_week": Limit(1, 50, "episodes a week, in each of two weeks running"),
    "per_28_days_night": Limit(1, 200, "night cramps in 28 days"),
}
PATTERN_RULES = [
    Rule(
        "R1",
        "FREQUENT_EPISODES",
        1,
        "routine",
        FREQUENT,
        "NHS; Mayo; MedlinePlus; NICE CKS; Connolly 1992",
        frequent_episodes,
        needs_complete_data=True,
        limits=FREQUENT_LIMITS,
    ),
    Rule(
        "R2",
        "SLEEP_DISRUPTION",
        1,
        "routine",
        {"nights_per_week": 2, "mean_nrs": 4},
        "NHS; MHRA",
        sleep_disruption,
        needs_complete_data=True,
        limits={
            "nights_per_week": Limit(1, 7, "nights woken a week, two weeks running"),
            "mean_nrs": Limit(1, 10, "weekly mean sleep disturbance (0-10), two weeks running", whole=False),
        },
    ),
    Rule(
        "R3",
        "SEVERE_EPISODES",
        1,
        "routine",
        {"count": 2, "days": 14, "intensity": 7},
        "Mayo; MedlinePlus",
        severe_episodes,
        renewal="entry",
        limits={
            "count": Limit(1, 20, "severe episodes needed"),
            "days": Limit(7, 28, DAYS),
            "intensity": Limit(1, 10, "strength (0-10) counted as severe"),
        },
    ),
    Rule(
        "R5",
        "PERSISTENT_PATTERN",
        1,
        "routine",
        {"weeks": 3, **FREQUENT, "intensity": 7, "severe_count": 2},
        "MedlinePlus",
        persistent_pattern,
        needs_complete_data=True,
        limits={
            "weeks": Limit(1, 4, "weeks of the last 4 with episodes"),
            **FREQUENT_LIMITS,
            "intensity": Limit(1, 10, "strength (0-10) counted as severe"),
            "severe_count": Limit(1, 20, "severe episodes in 14 days"),
        },
    ),
    Rule(
        "R6",
        "WORSENING_TREND",
        1,
        "routine",
        {"ratio_nrs": 1.3, "points": 2, "ratio_count": 1.5, "min_count": 8, "p": 0.05},
        "Farrar 2008; Collin 2010",
        worsening_trend,
        needs_complete_data=True,
        limits={
            "ratio_nrs": Limit(1.05, 5, "times the baseline (14-day mean)", whole=False),
            "points": Limit(0.5, 10, "points above the baseline (14-day mean)", whole=False),
            "ratio_count": Limit(1.1, 10, "times the previous 4 weeks' episode count", whole=False),
            "min_count": Limit(1, 200, "episodes in the last 4 weeks, at least"),
            "p": Limit(0.001, 0.5, "significance level of the rate-ratio test", whole=False),
        },
    ),
    Rule(
        "R8",
        "WASTING_OR_WEAKNESS_TREND",
        1,
        "routine",
        {"days": 14},
        "NHS; Cleveland Clinic",
        wasting_or_weakness,
        renewal="entry",
        limits={"days": Limit(7, 56, DAYS)},
    ),
    Rule(
        "R9",
        "NO_OBVIOUS_CAUSE",
        1,
        "routine",
        {**FREQUENT, "share": 0.5},
        "Mayo",
        no_obvious_cause,
        needs_complete_data=True,
        limits={**FREQUENT_LIMITS, "share": Limit(0.05, 1, SHARE, whole=False)},
    ),
    # A data notice recedes as soon as the missing days arrive (CLINICAL.md (a), note 5).
    Rule(
        "R11",
        "DATA_GAP",
        2,
        "routine",
        {"min_days": 4},
        "[DEFAULT]",
        data_gap,
        recede_days=0,
        limits={"min_days": Limit(1, 7, "days of the last 7 with an entry, at least")},
    ),
]
# In rule order, R1 to R11.
ROUTINE_RULES = sorted([*PATTERN_RULES, *TREATMENT_RULES], key=lambda rule: int(rule.id[1:]))
