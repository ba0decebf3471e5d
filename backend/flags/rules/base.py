"""What a follow-up rule is, and what it says when it fires."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from backend.flags.window import Day, Diary, Ep

Urgency = Literal["urgent", "soon", "routine"]
URGENCY_RANK: dict[str, int] = {"urgent": 0, "soon": 1, "routine": 2}
Thresholds = Mapping[str, float]
# How a rule that a clinician (or the patient) has already judged can be raised again (CLINICAL.md (a), note 5):
# "entry": by an entry the judgment did not cover (a second prolonged cramp after the first was resolved);
# "pattern": only once the whole pattern is made of entries the judgment did not cover (a fresh two weeks of
# frequent episodes), so that each new entry of a pattern already judged does not bring it back.
Renewal = Literal["entry", "pattern"]


@dataclass(frozen=True)
class Limit:
    """The values a clinician may give one threshold for one patient: outside them the rule would be meaningless or
    could not run (a count of 0 divides by zero), so an override outside is refused."""

    low: float
    high: float
    words: str
    whole: bool = True

    def admits(self, value: float) -> bool:
        return self.low <= value <= self.high and (not self.whole or float(value).is_integer())

    def describe(self) -> str:
        low, high = (int(self.low), int(self.high)) if self.whole else (self.low, self.high)
        return f"from {low} to {high}{' (whole numbers)' if self.whole else ''}"


@dataclass(frozen=True)
class Finding:
    """A rule that fired: what was seen, over which days, on which entries, and what to do.

    The evidence (``episode_ids``, ``checkin_days``) is everything the rule looked at, context included (a baseline,
    the logged days the data guard counted), and lies within ``window_start``..``window_end``. ``signs`` are the
    keys of what the rule looks for (an episode id, a day, or a rule's own mark such as a treatment's review point):
    a judgment covers the signs it saw, and only new signs raise a judged rule again (``renewed``)."""

    rule_id: str
    window_start: dt.date
    window_end: dt.date
    episode_ids: frozenset[uuid.UUID]
    checkin_days: frozenset[dt.date]
    patient_message: str
    clinician_message: str
    measures: Mapping[str, float] = field(default_factory=dict)
    signs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    version: int
    urgency: Urgency
    defaults: Mapping[str, float]
    source: str
    evaluate: Callable[[Diary, Thresholds], Finding | None]
    limits: Mapping[str, Limit] = field(default_factory=dict)
    # Frequency and trend rules are silenced when fewer than 4 of the last 7 days were logged (R11 guard).
    needs_complete_data: bool = False
    # A flag closes by itself once the rule has not fired for this many days (0: as soon as it no longer holds).
    recede_days: int = 14
    renewal: Renewal = "pattern"


WHO_NOW = "Get medical help now: call your doctor's urgent line or emergency services."
WHO_SOON = "Contact your care team (doctor, nurse or physiotherapist) within the next day or two."
WHO_ROUTINE = "Mention this to your doctor or nurse at your next appointment, or book one."


def key_of(item: Ep | Day | dt.date | uuid.UUID | str) -> str:
    """The sign key of an entry: an episode's id, or a day in ISO form (the same strings a flag stores)."""
    if isinstance(item, Ep):
        return str(item.id)
    if isinstance(item, Day):
        return item.day.isoformat()
    if isinstance(item, dt.date):
        return item.isoformat()
    return str(item)


def finding(
    rule_id: str,
    *,
    episodes: Iterable[Ep] = (),
    days: Iterable[Day] = (),
    extra_days: Iterable[dt.date] = (),
    window: tuple[dt.date, dt.date] | None = None,
    patient: str,
    clinician: str,
    measures: Mapping[str, float] | None = None,
    signs: Iterable[Ep | Day | dt.date | uuid.UUID | str] | None = None,
) -> Finding:
    """A finding whose window covers all its evidence (a window given by the rule is widened where needed), and whose
    signs are all its evidence unless the rule names them."""
    episodes = list(episodes)
    day_set = {d.day for d in days} | set(extra_days)
    dates = [e.local_day for e in episodes] + sorted(day_set)
    if window is None:
        window = (min(dates), max(dates)) if dates else (dt.date.min, dt.date.min)
    elif dates:
        window = (min(window[0], *dates), max(window[1], *dates))
    keys = {key_of(e) for e in episodes} | {key_of(d) for d in day_set} if signs is None else {key_of(s) for s in signs}
    return Finding(
        rule_id=rule_id,
        window_start=window[0],
        window_end=window[1],
        episode_ids=frozenset(e.id for e in episodes),
        checkin_days=frozenset(day_set),
        patient_message=patient,
        clinician_message=clinician,
        measures=dict(measures or {}),
        signs=frozenset(keys),
    )


def renewed(renewal: Renewal, signs: Iterable[str], judged: Iterable[str]) -> bool:
    """Whether a finding with these signs is news to a judgment that covered ``judged`` (CLINICAL.md (a), note 5):
    an "entry" rule needs one sign the judgment did not see, a "pattern" rule needs signs none of which it saw."""
    now, seen = set(signs), set(judged)
    if renewal == "entry":
        return bool(now - seen)
    return bool(now) and not now & seen


def recent(diary: Diary, days: int) -> set[dt.date]:
    return set(diary.days_back(days))
