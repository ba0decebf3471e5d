"""The plain data the follow-up rules read: a window of one patient's diary, with no database behind it.

Local times come from the UTC offset the phone recorded with each entry, so an episode is counted on the day and hour
the patient lived it, across daylight-saving changes and travel alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from dataclasses import dataclass, field

from backend.diary.catalog import BODY_SITES


@dataclass(frozen=True)
class Ep:
    """One episode, reduced to what the rules need."""

    id: uuid.UUID
    kind: str
    start: dt.datetime  # aware, UTC
    offset_minutes: int
    intensity: int
    duration_seconds: int | None = None
    end: dt.datetime | None = None
    ongoing: bool = False
    sites: tuple[tuple[str, str], ...] = ()
    woke_from_sleep: bool | None = None
    triggers: frozenset[str] = frozenset()
    symptoms: frozenset[str] = frozenset()
    context: frozenset[str] = frozenset()
    treatments: tuple[tuple[str, int | None, int | None], ...] = ()  # (kind, relief 0-10, minutes to relief)
    # Wall-clock time where the patient was (naive), and its date: computed once, read by every rule.
    local_start: dt.datetime = field(init=False, repr=False, compare=False)
    local_day: dt.date = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The rules compare instants in UTC; a start that still carries the phone's offset is normalised first.
        if self.start.utcoffset() != dt.timedelta(0):
            object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        local = (self.start + dt.timedelta(minutes=self.offset_minutes)).replace(tzinfo=None)
        object.__setattr__(self, "local_start", local)
        object.__setattr__(self, "local_day", local.date())

    def length(self, now: dt.datetime) -> dt.timedelta | None:
        """How long it lasted, or has lasted so far when still going; None when the patient did not say."""
        if self.end is not None:
            return self.end - self.start
        if self.duration_seconds is not None:
            return dt.timedelta(seconds=self.duration_seconds)
        if self.ongoing:
            return now - self.start
        return None

    def regions(self) -> set[str]:
        return {BODY_SITES[site][1] for site, _side in self.sites if site in BODY_SITES}


@dataclass(frozen=True)
class Day:
    """One daily check-in."""

    day: dt.date
    no_episodes: bool = False
    stiffness: int | None = None
    sleep_disturbance: int | None = None
    pain: int | None = None
    meds_taken: str | None = None
    symptoms: frozenset[str] = frozenset()
    systolic_bp: int | None = None
    temperature_c: float | None = None
    new_or_worse_symptoms: bool = False  # S4: an MS symptom that is new or worse today


@dataclass(frozen=True)
class Plan:
    """One regimen of the treatment plan."""

    id: uuid.UUID
    kind: str
    name: str
    start: dt.date
    stop: dt.date | None = None
    stopped_by_clinician: bool = False
    times: tuple[str, ...] = ()  # the times of day of its doses ("08:00"), for reminders and adherence


@dataclass(frozen=True)
class DoseAnswer:
    """One scheduled dose of a plan, as the patient answered it: "taken", "skipped" or "later" (not decided yet)."""

    regimen_id: uuid.UUID
    day: dt.date  # the local day of the dose
    time: str
    status: str


@dataclass(frozen=True)
class Patient:
    conditions: frozenset[str] = frozenset()
    time_zone: str = "UTC"
    sci_level: str | None = None
    itb_pump: bool = False
    itb_refill_date: dt.date | None = None
    baseline_systolic: int | None = None
    # The earlier of the account's creation and the first diary day: a diary typed in from paper, or brought from
    # another phone, begins before the account did (R11 and the baselines measure from here).
    enrolled_on: dt.date | None = None
    first_episode_on: dt.date | None = None  # in the whole diary, not only the weeks the rules are given
    sleep_start: dt.time = dt.time(23, 0)
    sleep_end: dt.time = dt.time(7, 0)
    enabled_rules: frozenset[str] = frozenset()  # rules a clinician switched on beyond the condition profile


@dataclass(frozen=True)
class Diary:
    """Everything the rules may look at, as of ``now``."""

    now: dt.datetime
    patient: Patient = field(default_factory=Patient)
    episodes: tuple[Ep, ...] = ()
    checkins: tuple[Day, ...] = ()
    plans: tuple[Plan, ...] = ()
    doses: tuple[DoseAnswer, ...] = ()  # the answered doses of the plans (R10, S5), oldest first
    # Facts about earlier flags that some rules need (S4's 30 days since the last relapse, S6's checklist).
    last_relapse_on: dt.date | None = None
    spike_checklist_done_on: dt.date | None = None

    @functools.cached_property
    def today(self) -> dt.date:
        return self.now.astimezone(zoneinfo.ZoneInfo(self.patient.time_zone)).date()

    def days_back(self, n: int, *, end: dt.date | None = None) -> list[dt.date]:
        """The n local days ending with ``end`` (today by default), oldest first."""
        last = end or self.today
        found = self._days_memo.get((n, last))
        if found is None:  # the rules ask for the same few spans again and again
            found = self._days_memo[(n, last)] = tuple(last - dt.timedelta(days=i) for i in range(n - 1, -1, -1))
        return list(found)

    @functools.cached_property
    def _days_memo(self) -> dict[tuple[int, dt.date], tuple[dt.date, ...]]:
        return {}

    @functools.cached_property
    def by_day(self) -> dict[dt.date, list[Ep]]:
        index: dict[dt.date, list[Ep]] = {}
        for e in self.episodes:
            index.setdefault(e.local_day, []).append(e)
        return index

    @functools.cached_property
    def checkins_by_day(self) -> dict[dt.date, Day]:
        return {c.day: c for c in self.checkins}

    @functools.cached_property
    def logged(self) -> frozenset[dt.date]:
        """Days with any entry: an episode, or a check-in (which includes an explicit "no episodes today")."""
        return frozenset(self.by_day) | frozenset(self.checkins_by_day)

    def episodes_on(self, days: set[dt.date]) -> list[Ep]:
        """Episodes on the given local days, in the order they happened."""
        found = [e for d in days for e in self.by_day.get(d, ())]
        found.sort(key=lambda e: (e.start, e.id))
        return found

    def episodes_within(self, n: int) -> list[Ep]:
        """Episodes of the last n local days, in the order they happened (every urgent rule asks for the week's)."""
        found = self._within_memo.get(n)
        if found is None:
            found = self._within_memo[n] = tuple(self.episodes_on(set(self.days_back(n))))
        return list(found)

    @functools.cached_property
    def _within_memo(self) -> dict[int, tuple[Ep, ...]]:
        return {}

    def checkin(self, day: dt.date) -> Day | None:
        return self.checkins_by_day.get(day)

    def restricted_to(self, episode_ids: set[uuid.UUID], days: set[dt.date]) -> Diary:
        """The same diary holding only the given entries: a flag's evidence must be enough to raise it again."""
        return Diary(
            now=self.now,
            patient=self.patient,
            episodes=tuple(e for e in self.episodes if e.id in episode_ids),
            checkins=tuple(c for c in self.checkins if c.day in days),
            plans=self.plans,
            doses=tuple(d for d in self.doses if d.day in days),
            last_relapse_on=self.last_relapse_on,
            spike_checklist_done_on=self.spike_checklist_done_on,
        )
