"""The numbers of the clinician's trend report (CLINICAL.md section (c)), computed from a diary window (pure).

Only the report period and the 28 days before it (the baseline) are read, so a report costs the same for a diary of
one month or of five years.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from backend.diary.catalog import BODY_SITES, TREATMENTS, TRIGGERS
from backend.flags.measures import Adherence, TreatmentResponse, adherence, night_of, treatment_response
from backend.flags.window import Diary, Ep, Plan

# MS Trust diary day-parts, by local hour; "during sleep" is any episode that woke the patient.
DAY_PARTS = [
    ("On waking", 5, 8),
    ("Morning", 8, 12),
    ("Lunchtime", 12, 14),
    ("Afternoon", 14, 18),
    ("Evening", 18, 22),
    ("Bedtime", 22, 24),
]
INFECTION_AND_BODY = {"uti_symptoms", "full_bladder", "constipation", "skin_problem", "fever"}


def day_part(e: Ep) -> str:
    if e.woke_from_sleep:
        return "During sleep"
    hour = e.local_start.hour
    for name, start, end in DAY_PARTS:
        if start <= hour < end:
            return name
    return "During sleep" if hour < 5 else "Bedtime"


def moving_average(values: list[float], window: int = 7) -> list[float]:
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1) : i + 1]
        out.append(sum(part) / len(part))
    return out


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now - before) / before


@dataclass(frozen=True)
class Trial:
    """A treatment started in the period, judged as rule R7 judges it (the same windows and verdict)."""

    plan: Plan
    response: TreatmentResponse
    next_review: dt.date
    nrs_cut: float  # the improvement that counts as a response, on stiffness and on the episode rate
    rate_cut: float


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    count: int
    peak: int  # the strongest episode's intensity, 0-10
    red: bool  # a warning sign was reported that day
    inside: bool  # the day lies in the report period (the row's other days are blanks)


@dataclass
class Report:
    first: dt.date
    last: dt.date
    days: int
    baseline_first: dt.date
    days_logged: int
    days_no_episodes: int
    episodes: list[Ep]
    episodes_per_week: float
    baseline_per_week: float | None
    median_duration_s: float | None
    max_duration_s: float | None
    over_ten_minutes: int
    mean_intensity: float | None
    peak_intensity: int | None
    mean_stiffness: float | None
    baseline_stiffness: float | None
    stiffness_change: float | None
    nights_disturbed_per_week: float
    mean_sleep: float | None
    mean_pain: float | None
    daily: list[tuple[dt.date, int]]
    daily_ma: list[float]
    daily_stiffness: list[tuple[dt.date, float | None]]
    weekly: list[tuple[dt.date, int]]  # (last day of the 7-day week, episodes), weeks ending on the report's last day
    calendar: list[list[CalendarDay]]  # the period in Monday-to-Sunday weeks
    day_parts: list[tuple[str, int]]
    hours: list[int]
    share_at_night: float | None
    sites: list[tuple[str, str, int]]  # (body site code, side, episodes), most first
    triggers: list[tuple[str, int, float, bool]]  # label, count, mean intensity, infection/bowel/bladder/skin
    share_no_trigger: float | None
    treatments: list[tuple[str, int, float | None, float | None]]  # label, episodes, median relief, median minutes
    trials: list[Trial] = field(default_factory=list)
    adherence: float | None = None
    plan_adherence: list[tuple[Plan, Adherence]] = field(default_factory=list)  # each plan with set times, per dose
    plans: list[Plan] = field(default_factory=list)
    notes: list[tuple[dt.datetime, str]] = field(default_factory=list)


def build(
    diary: Diary,
    days: int,
    notes: list[tuple[dt.datetime, str]] | None = None,
    trial: Mapping[str, float] | None = None,
) -> Report:
    """The report of the ``days`` ending today. ``trial`` is rule R7's thresholds for this patient (trial_days,
    nrs_response, rate_response), so that the treatment-response line holds the same cuts as the R7 flag."""
    last = diary.today
    first = last - dt.timedelta(days=days - 1)
    baseline_first = first - dt.timedelta(days=28)
    period = [first + dt.timedelta(days=i) for i in range(days)]
    in_period = set(period)
    eps = [e for e in diary.episodes if e.local_day in in_period]
    base_eps = [e for e in diary.episodes if baseline_first <= e.local_day < first]
    checkins = [c for c in diary.checkins if c.day in in_period]
    base_checkins = [c for c in diary.checkins if baseline_first <= c.day < first]
    logged = in_period & diary.logged
    lengths = [s for e in eps if (s := e.length(diary.now)) is not None]
    seconds = [x.total_seconds() for x in lengths]
    stiff = [c.stiffness for c in checkins if c.stiffness is not None]
    base_stiff = [c.stiffness for c in base_checkins if c.stiffness is not None]
    counts = Counter(e.local_day for e in eps)
    daily = [(d, counts.get(d, 0)) for d in period]
    by_day_stiff = {c.day: float(c.stiffness) for c in checkins if c.stiffness is not None}
    # Weeks of 7 days ending on the report's last day (the windows the rules and the treatment-response line use:
    # the last two bars are R7's "14 days ending today"); days before the first whole week are left out.
    weekly = []
    for end in range(days - 1, 5, -7):
        week = period[end - 6 : end + 1]
        weekly.append((week[-1], sum(counts.get(d, 0) for d in week)))
    weekly.reverse()
    red_days = {e.local_day for e in eps if e.symptoms - {"muscle_wasting"}} | {c.day for c in checkins if c.symptoms}
    # The report period, in whole Monday-to-Sunday rows; the days of those rows outside the period are blanks.
    calendar = []
    day = first - dt.timedelta(days=first.weekday())
    while day <= last:
        row: list[CalendarDay] = []
        for _ in range(7):
            todays = diary.by_day.get(day, []) if day in in_period else []
            peak = max((e.intensity for e in todays), default=0)
            row.append(CalendarDay(day, len(todays), peak, day in red_days, day in in_period))
            day += dt.timedelta(days=1)
        calendar.append(row)
    parts = Counter(day_part(e) for e in eps)
    hours = [0] * 24
    for e in eps:
        hours[e.local_start.hour] += 1
    sites = Counter((s, side) for e in eps for s, side in e.sites if s in BODY_SITES)
    trig = Counter(t for e in eps for t in e.triggers if t != "none_known")
    trig_intensity: dict[str, list[int]] = {}
    for e in eps:
        for t in e.triggers:
            trig_intensity.setdefault(t, []).append(e.intensity)
    no_trigger = [e for e in eps if not (e.triggers - {"none_known"})]
    relief: dict[str, list[int]] = {}
    minutes: dict[str, list[int]] = {}
    treated: Counter[str] = Counter()
    for e in eps:
        for kind, r, m in e.treatments:
            treated[kind] += 1
            if r is not None:
                relief.setdefault(kind, []).append(r)
            if m is not None:
                minutes.setdefault(kind, []).append(m)
    nights = {night_of(e) for e in eps if e.woke_from_sleep}
    trials: list[Trial] = []
    for plan in diary.plans:
        # A plan started in the period, or shortly before it: its 14 days before the start lie within what the
        # report reads (the period and the 28 days before), so its line is computed on the same diary as the rest.
        if not first - dt.timedelta(days=14) <= plan.start <= last or (plan.stop is not None and plan.stop < first):
            continue
        # The same windows and verdict as rule R7 (measures.treatment_response): the report never contradicts it.
        age = (last - plan.start).days
        review = plan.start + dt.timedelta(days=28 if age < 28 else 28 + 90 * ((age - 28) // 90 + 1))
        cuts = dict(trial or {})
        response = treatment_response(
            diary,
            plan.start,
            last,
            trial_days=int(cuts.get("trial_days", 28)),
            nrs_response=cuts.get("nrs_response", 0.2),
            rate_response=cuts.get("rate_response", 0.25),
        )
        trials.append(Trial(plan, response, review, cuts.get("nrs_response", 0.2), cuts.get("rate_response", 0.25)))
    return Report(
        first=first,
        last=last,
        days=days,
        baseline_first=baseline_first,
        days_logged=len(logged),
        days_no_episodes=sum(1 for c in checkins if c.no_episodes),
        episodes=eps,
        episodes_per_week=len(eps) * 7 / days,
        baseline_per_week=len(base_eps) / 4 if base_eps or base_checkins else None,
        median_duration_s=statistics.median(seconds) if seconds else None,
        max_duration_s=max(seconds) if seconds else None,
        over_ten_minutes=sum(1 for x in seconds if x > 600),
        mean_intensity=statistics.mean(e.intensity for e in eps) if eps else None,
        peak_intensity=max((e.intensity for e in eps), default=None),
        mean_stiffness=statistics.mean(stiff) if stiff else None,
        baseline_stiffness=statistics.median(base_stiff) if base_stiff else None,
        stiffness_change=_change(
            statistics.mean(stiff) if stiff else None, statistics.median(base_stiff) if base_stiff else None
        ),
        nights_disturbed_per_week=len(nights) * 7 / days,
        mean_sleep=statistics.mean(v)
        if (v := [c.sleep_disturbance for c in checkins if c.sleep_disturbance is not None])
        else None,
        mean_pain=statistics.mean(v) if (v := [c.pain for c in checkins if c.pain is not None]) else None,
        daily=daily,
        daily_ma=moving_average([float(n) for _, n in daily]),
        daily_stiffness=[(d, by_day_stiff.get(d)) for d in period],
        weekly=weekly,
        calendar=calendar,
        day_parts=[(name, parts.get(name, 0)) for name in [p[0] for p in DAY_PARTS] + ["During sleep"]],
        hours=hours,
        share_at_night=(parts.get("During sleep", 0) / len(eps)) if eps else None,
        sites=[(s, side, n) for (s, side), n in sorted(sites.items(), key=lambda item: (-item[1], item[0]))],
        triggers=[
            (TRIGGERS[t], n, statistics.mean(trig_intensity[t]), t in INFECTION_AND_BODY)
            for t, n in sorted(trig.items(), key=lambda item: (-item[1], item[0]))  # ties in a fixed order
        ],
        share_no_trigger=len(no_trigger) / len(eps) if eps else None,
        treatments=[
            (
                TREATMENTS.get(k, k),
                n,
                statistics.median(relief[k]) if k in relief else None,
                statistics.median(minutes[k]) if k in minutes else None,
            )
            for k, n in treated.most_common()
        ],
        trials=trials,
        # ---- adherence: per dose where the doses were answered, the check-in otherwise (the measure of rule R10) ----
        adherence=adherence(diary, period, diary.plans).share,
        plan_adherence=[
            (p, adherence(diary, period, [p])) for p in sorted(diary.plans, key=lambda p: p.start) if p.times
        ],
        plans=sorted(diary.plans, key=lambda p: p.start),
        notes=notes or [],
    )
