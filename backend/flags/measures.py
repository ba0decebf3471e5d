"""Derived measures shared by the follow-up rules and the reports: counts, baselines, completeness, PSFS band.

Conventions from CLINICAL.md section (a): days are the patient's local days; a week is a rolling 7-day window; the
baseline is the median of the previous 28 days, or of the first 14 diary days when fewer than 14 of those 28 were
logged.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from backend.flags.window import Diary, Ep, Plan

BASELINE_DAYS = 28
BASELINE_MIN_DAYS = 14
WAKING_HOURS = 16
# PSFS level 1 is "mild spasms induced by stimulation": episodes whose only triggers are touch or movement.
STIMULATION_TRIGGERS = frozenset({"touch", "position_change", "transfer"})


def daily_counts(diary: Diary, days: Iterable[dt.date]) -> dict[dt.date, int]:
    return {d: len(diary.by_day.get(d, ())) for d in days}


def logged_days(diary: Diary) -> frozenset[dt.date]:
    """Days with any entry: an episode, or a check-in (which includes an explicit "no episodes today")."""
    return diary.logged


def completeness(diary: Diary, n: int = 7, *, end: dt.date | None = None) -> tuple[int, int]:
    """(days logged, days in the window) over the last n days."""
    window = set(diary.days_back(n, end=end))
    return len(window & logged_days(diary)), n


@dataclass(frozen=True)
class Baseline:
    value: float
    days: tuple[dt.date, ...]


def baseline(diary: Diary, value_of: Callable[[dt.date], float | None], before: dt.date) -> Baseline | None:
    """Median of a daily value over the 28 logged days before ``before``; falls back to the first 14 logged days."""
    logged = logged_days(diary)
    window = [before - dt.timedelta(days=i) for i in range(BASELINE_DAYS, 0, -1)]
    pairs = [(d, v) for d in window if d in logged and (v := value_of(d)) is not None]
    if len(pairs) < BASELINE_MIN_DAYS:
        start = diary.patient.enrolled_on or (min(logged) if logged else None)
        if start is None:
            return None
        early = sorted(d for d in logged if d >= start and d < before)[:BASELINE_MIN_DAYS]
        pairs = [(d, v) for d in early if (v := value_of(d)) is not None]
    if not pairs:
        return None
    return Baseline(statistics.median(v for _, v in pairs), tuple(d for d, _ in pairs))


def count_baseline(diary: Diary, before: dt.date) -> Baseline | None:
    return baseline(diary, lambda d: float(len(diary.by_day.get(d, ()))), before)


def stiffness_on(diary: Diary) -> Callable[[dt.date], float | None]:
    def value(d: dt.date) -> float | None:
        c = diary.checkins_by_day.get(d)
        return None if c is None or c.stiffness is None else float(c.stiffness)

    return value


def weekly_counts(diary: Diary, weeks: int, *, end: dt.date | None = None) -> list[int]:
    """Episode counts of consecutive rolling 7-day windows ending on ``end``, oldest first."""
    last = end or diary.today
    out = []
    for w in range(weeks - 1, -1, -1):
        week_end = last - dt.timedelta(days=7 * w)
        out.append(sum(len(diary.by_day.get(week_end - dt.timedelta(days=i), ())) for i in range(7)))
    return out


def psfs_band_from_log(diary: Diary, *, end: dt.date | None = None) -> int:
    """The Penn spasm frequency level (0-4) the last 7 days of the log suggest, to set beside the self-rating.

    The scale has no fixed recall period (CLINICAL.md 1.1), so we take a typical waking hour of the week: the mean
    number of episodes per waking hour over the logged days.
    """
    days = set(diary.days_back(7, end=end))
    week = diary.episodes_on(days)
    if not week:
        return 0
    if all(e.triggers and e.triggers <= STIMULATION_TRIGGERS for e in week):
        return 1
    logged = max(1, len(days & logged_days(diary)))
    per_hour = len(week) / (logged * WAKING_HOURS)
    if per_hour > 10:
        return 4
    if per_hour > 1:
        return 3
    return 2


def night_of(e: Ep) -> dt.date:
    """The night an episode belongs to, named by the evening it began: 23:30 and 02:00 are the same night."""
    return (e.local_start - dt.timedelta(hours=12)).date()


def nights_disturbed(diary: Diary, days: Iterable[dt.date]) -> set[dt.date]:
    """Nights (named by their evening) among ``days`` on which an episode woke the patient."""
    wanted = set(days)
    # An episode dated after the patient's today (a phone set to a zone further east) waits for that day to come.
    return {
        night_of(e)
        for e in diary.episodes
        if e.woke_from_sleep and night_of(e) in wanted and e.local_day <= diary.today
    }


def share_of_nights_disturbed(diary: Diary, n: int = 7) -> float | None:
    days = set(diary.days_back(n))
    logged = days & logged_days(diary)
    if not logged:
        return None
    return len(nights_disturbed(diary, logged)) / len(logged)


@dataclass(frozen=True)
class TreatmentResponse:
    """Before and after a treatment started: the 14 days before its start against the 14 days ending ``end`` (or
    the days since the start, when fewer). One computation for R7 and the report, so that they never disagree."""

    before: tuple[dt.date, ...]
    after: tuple[dt.date, ...]
    before_stiffness: float | None
    after_stiffness: float | None
    before_per_week: float
    after_per_week: float
    basis: str | None  # "stiffness" when both sides have daily ratings, else "episode rate" when there were episodes
    improvement: float | None  # the share by which the basis improved (0.3 = 30% better); negative when worse
    verdict: str


def treatment_response(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    *,
    trial_days: int = 28,
    nrs_response: float = 0.2,
    rate_response: float = 0.25,
) -> TreatmentResponse:
    """Sources: Novotna 2011 and MS-UK (a 20% stiffness NRS improvement after a 4-week trial; 30% clinically
    important, Farrar 2008 / Collin 2010); the quinine effect size for cramps (about 25%, West Kent formulary)."""
    before = tuple(diary.days_back(14, end=start - dt.timedelta(days=1)))
    after = tuple(d for d in diary.days_back(14, end=end) if d >= start)
    nrs = stiffness_on(diary)
    b_nrs = [v for d in before if (v := nrs(d)) is not None]
    a_nrs = [v for d in after if (v := nrs(d)) is not None]
    b_rate = len(diary.episodes_on(set(before))) * 7 / len(before)
    a_rate = len(diary.episodes_on(set(after))) * 7 / len(after) if after else 0.0
    b_mean = statistics.mean(b_nrs) if b_nrs else None
    a_mean = statistics.mean(a_nrs) if a_nrs else None
    basis, improvement, verdict = None, None, "not assessable (no ratings or episodes before the start)"
    if (end - start).days < trial_days:
        verdict = f"too early (under {trial_days} days)"
    if b_mean and a_mean is not None:
        basis, improvement = "stiffness", (b_mean - a_mean) / b_mean
    elif b_rate > 0 and after:
        basis, improvement = "episode rate", (b_rate - a_rate) / b_rate
    if improvement is not None and (end - start).days >= trial_days:
        cut = nrs_response if basis == "stiffness" else rate_response
        if basis == "stiffness" and improvement >= 0.30:
            verdict = f"clinically important: stiffness {improvement:.0%} better (>= 30%)"
        elif improvement >= cut:
            verdict = f"responder: {basis} {improvement:.0%} better (>= {cut:.0%})"
        else:
            verdict = f"no meaningful response: {basis} {improvement:.0%} better (< {cut:.0%})"
    return TreatmentResponse(before, after, b_mean, a_mean, b_rate, a_rate, basis, improvement, verdict)


# ---- adherence (R10, S5, the report) ----------------------------------------------------------------------------------

CHECKIN_SCORE = {"all": 1.0, "some": 0.5, "none": 0.0}


@dataclass(frozen=True)
class Adherence:
    """Doses taken out of doses counted, over some days: per dose where the patient answered the doses, from the
    check-in's "did you take your regular medicines?" on the other days."""

    taken: float
    counted: float
    dose_days: frozenset[dt.date]  # days counted from dose records
    checkin_days: frozenset[dt.date]  # days counted from the check-in's answer

    @property
    def share(self) -> float | None:
        return self.taken / self.counted if self.counted else None

    @property
    def days(self) -> frozenset[dt.date]:
        return self.dose_days | self.checkin_days


def doses_planned(plans: Iterable[Plan], day: dt.date) -> int:
    return sum(len(p.times) for p in plans if p.start <= day and (p.stop is None or p.stop > day))


def adherence(diary: Diary, days: Iterable[dt.date], plans: Iterable[Plan]) -> Adherence:
    """R10 [DEFAULT], scheduled-dose adherence of ``plans`` over ``days``. A day with doses of these plans answered
    taken or skipped counts those doses (taken 1, skipped 0); a dose answered "later" and never settled, or not
    answered at all, is not known and counts in neither. A day without answered doses counts its check-in answer
    ("all" 1, "some" half, "none" 0) as that day's planned doses (at least one), so a day weighs the same however it
    was answered."""
    chosen = list(plans)
    ids = {p.id for p in chosen}
    wanted = set(days)
    per_day: dict[dt.date, list[bool]] = {}
    for d in diary.doses:
        if d.day in wanted and d.regimen_id in ids and d.status in {"taken", "skipped"}:
            per_day.setdefault(d.day, []).append(d.status == "taken")
    taken = float(sum(sum(v) for v in per_day.values()))
    counted = float(sum(len(v) for v in per_day.values()))
    from_checkins = set()
    for c in diary.checkins:
        if c.day in wanted and c.day not in per_day and c.meds_taken in CHECKIN_SCORE:
            weight = max(1, doses_planned(chosen, c.day))
            taken += CHECKIN_SCORE[c.meds_taken] * weight
            counted += weight
            from_checkins.add(c.day)
    return Adherence(taken, counted, frozenset(per_day), frozenset(from_checkins))


def missed_day(diary: Diary, day: dt.date, plans: Iterable[Plan]) -> bool | None:
    """S5: whether no dose of ``plans`` was taken that day (True), some was (False), or it is not known (None): from
    the answered doses when there are any, from the check-in's "none" otherwise."""
    ids = {p.id for p in plans}
    answered = [
        d.status == "taken" for d in diary.doses if d.day == day and d.regimen_id in ids and d.status != "later"
    ]
    if answered:
        return not any(answered)
    c = diary.checkin(day)
    if c is None or c.meds_taken is None:
        return None
    return c.meds_taken == "none"
