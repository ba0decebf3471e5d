"""Small helpers to build diaries for the follow-up rule tests.

Everything is relative to a fixed clock (NOW, a Friday at noon UTC) and counted in days back from TODAY, so a test
reads like the diary it describes: ``ep(3, intensity=7)`` is an episode at noon, three local days ago.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from backend.flags.engine import Evaluation, evaluate
from backend.flags.rules.base import Finding
from backend.flags.window import Day, Diary, Ep, Patient, Plan

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
NOON = dt.time(12, 0)


def day_ago(n: int, today: dt.date = TODAY) -> dt.date:
    return today - dt.timedelta(days=n)


def at(days_ago: int, time: dt.time = NOON, offset: int = 0) -> dt.datetime:
    """The UTC instant of local wall-clock ``time`` on TODAY - days_ago, for an entry recorded at UTC+offset."""
    local = dt.datetime.combine(day_ago(days_ago), time)
    return (local - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC)


def ep_at(start: dt.datetime, *, offset: int = 0, kind: str = "spasm", intensity: int = 3, **fields: Any) -> Ep:
    return Ep(id=uuid.uuid4(), kind=kind, start=start, offset_minutes=offset, intensity=intensity, **fields)


def ep(days_ago: int = 0, time: dt.time = NOON, *, offset: int = 0, **fields: Any) -> Ep:
    """One episode at local ``time`` on TODAY - days_ago."""
    return ep_at(at(days_ago, time, offset), offset=offset, **fields)


def eps(n: int, days_ago: int = 0, **fields: Any) -> list[Ep]:
    """n episodes on one local day, a minute apart from 06:00 (so up to 1000 fit in the day)."""
    first = at(days_ago, dt.time(6, 0), fields.get("offset", 0))
    return [ep_at(first + dt.timedelta(minutes=i), **fields) for i in range(n)]


def spread(counts: Mapping[int, int], **fields: Any) -> list[Ep]:
    """Episodes by day: {days_ago: how many}."""
    return [e for d, n in counts.items() for e in eps(n, d, **fields)]


def day(days_ago: int, **fields: Any) -> Day:
    return Day(day=day_ago(days_ago), **fields)


def days(days_agos: Iterable[int], **fields: Any) -> list[Day]:
    return [day(d, **fields) for d in days_agos]


def amend(checkins: Iterable[Day], days_ago: int, **fields: Any) -> list[Day]:
    """The same check-ins with the one on TODAY - days_ago changed (or added when missing)."""
    target = day_ago(days_ago)
    out = [dataclasses.replace(c, **fields) if c.day == target else c for c in checkins]
    if not any(c.day == target for c in out):
        out.append(day(days_ago, **fields))
    return out


def stiffness(values: Mapping[int, int]) -> list[Day]:
    """Check-ins carrying a stiffness NRS: {days_ago: value}."""
    return [day(d, stiffness=v) for d, v in values.items()]


def nrs_spike(base: int = 3, recent: tuple[int, int, int] = (5, 5, 5)) -> list[Day]:
    """Stiffness ``base`` on the 28 days before the last three, then ``recent`` on days 2, 1 and 0 ago."""
    values = {d: base for d in range(3, 31)}
    values.update({2: recent[0], 1: recent[1], 0: recent[2]})
    return stiffness(values)


def count_spike(last: Mapping[int, int] | None = None) -> list[Ep]:
    """One episode a day on days 3..30 ago (a baseline of 1 a day), then ``last`` ({days_ago: n}) on days 2..0."""
    counts = {d: 1 for d in range(3, 31)}
    counts.update(last if last is not None else {2: 1, 1: 2, 0: 2})
    return spread(counts)


def plan(
    kind: str,
    name: str,
    started_days_ago: int,
    *,
    stopped_days_ago: int | None = None,
    by_clinician: bool = False,
) -> Plan:
    return Plan(
        id=uuid.uuid4(),
        kind=kind,
        name=name,
        start=day_ago(started_days_ago),
        stop=None if stopped_days_ago is None else day_ago(stopped_days_ago),
        stopped_by_clinician=by_clinician,
    )


def patient(*conditions: str, **fields: Any) -> Patient:
    return Patient(conditions=frozenset(conditions), **fields)


CRAMPS = patient("idiopathic_cramps")
NIGHT = patient("night_cramps")
MS = patient("multiple_sclerosis")
CP = patient("cerebral_palsy")


def sci(level: str | None = "C5", **fields: Any) -> Patient:
    return patient("spinal_cord_injury", sci_level=level, **fields)


def _flatten(entries: Iterable[Any]) -> Iterable[Any]:
    for entry in entries:
        if isinstance(entry, Ep | Day):
            yield entry
        else:
            yield from _flatten(entry)


def diary(
    *entries: Ep | Day | Iterable[Any],
    who: Patient = CRAMPS,
    plans: Iterable[Plan] = (),
    now: dt.datetime = NOW,
    fill_week: bool = False,
    **fields: Any,
) -> Diary:
    """A diary of the given episodes and check-ins (lists may be nested). ``fill_week`` adds a bare check-in on
    every one of the last 7 days that has none, so the data-completeness guard lets frequency rules run."""
    flat = list(_flatten(entries))
    episodes = tuple(e for e in flat if isinstance(e, Ep))
    checkins = [c for c in flat if isinstance(c, Day)]
    seen = [c.day for c in checkins]
    assert len(seen) == len(set(seen)), "one check-in per day"
    if fill_week:
        today = now.date()
        checkins += [Day(day=d) for d in (today - dt.timedelta(days=i) for i in range(7)) if d not in seen]
    return Diary(now=now, patient=who, episodes=episodes, checkins=tuple(checkins), plans=tuple(plans), **fields)


def run(d: Diary, overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Finding]:
    """The findings of engine.evaluate, by rule id."""
    result: Evaluation = evaluate(d, overrides)
    by_id = {f.rule_id: f for f in result.findings}
    assert len(by_id) == len(result.findings), "one finding per rule"
    return by_id


def fired(d: Diary, rule_id: str, overrides: Mapping[str, Mapping[str, float]] | None = None) -> Finding | None:
    return run(d, overrides).get(rule_id)


def check(
    f: Finding | None,
    rule_id: str,
    *,
    episodes: Iterable[Ep] | None = None,
    checkin_days: Iterable[dt.date] | None = None,
) -> Finding:
    """Assert a finding fired for ``rule_id``, with two different non-empty messages and, when given, exactly this
    evidence."""
    assert f is not None, f"{rule_id} did not fire"
    assert f.rule_id == rule_id
    assert f.patient_message.strip() and f.clinician_message.strip()
    assert f.patient_message != f.clinician_message
    if episodes is not None:
        assert f.episode_ids == {e.id for e in episodes}
    if checkin_days is not None:
        assert f.checkin_days == set(checkin_days)
    return f


def ids(entries: Iterable[Ep]) -> frozenset[uuid.UUID]:
    return frozenset(e.id for e in entries)
