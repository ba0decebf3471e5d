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


@dataclass(frozen=True)
class Finding:
    """A rule that fired: what was seen, over which days, on which entries, and what to do."""

    rule_id: str
    window_start: dt.date
    window_end: dt.date
    episode_ids: frozenset[uuid.UUID]
    checkin_days: frozenset[dt.date]
    patient_message: str
    clinician_message: str
    measures: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    version: int
    urgency: Urgency
    defaults: Mapping[str, float]
    source: str
    evaluate: Callable[[Diary, Thresholds], Finding | None]
    # Frequency and trend rules are silenced when fewer than 4 of the last 7 days were logged (R11 guard).
    needs_complete_data: bool = False
    # A flag closes by itself once the rule has not fired for this many days.
    recede_days: int = 14


WHO_NOW = "Get medical help now: call your doctor's urgent line or emergency services."
WHO_SOON = "Contact your care team (doctor, nurse or physiotherapist) within the next day or two."
WHO_ROUTINE = "Mention this to your doctor or nurse at your next appointment, or book one."


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
) -> Finding:
    episodes = list(episodes)
    day_set = {d.day for d in days} | set(extra_days)
    dates = [e.local_day for e in episodes] + sorted(day_set)
    if window is None:
        window = (min(dates), max(dates)) if dates else (dt.date.min, dt.date.min)
    return Finding(
        rule_id=rule_id,
        window_start=window[0],
        window_end=window[1],
        episode_ids=frozenset(e.id for e in episodes),
        checkin_days=frozenset(day_set),
        patient_message=patient,
        clinician_message=clinician,
        measures=dict(measures or {}),
    )


def recent(diary: Diary, days: int) -> set[dt.date]:
    return set(diary.days_back(days))
