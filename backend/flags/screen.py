"""The urgent-rule screen of a write (pure): whether the urgent rules must run before the write is answered.

Most writes are quick logs (a strength and a place) on which no urgent rule can act; the grouped episode writer
screens a whole batch without the database, and only the writes the screen cannot clear wait for the full urgent
check (services.urgent_check). Held honest by property tests that run the rules themselves on every entry the screen
clears (tests/flags/test_screen.py): a new urgent rule looking at something else makes them fail.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from backend.flags.engine import RULES, evaluate, rules_for
from backend.flags.rows import episode_from_row, patient_from
from backend.flags.window import Day, Diary, Ep, Patient

SPIKE_RULES = {"U7", "U10"}  # need the weeks before an entry (a spasticity spike), not just the entry


def needs_window(episode: Ep | None) -> bool:
    """U5 pairs a cramp with fluid loss in the 48 hours around it: such an entry cannot be judged alone."""
    return episode is not None and (
        episode.kind == "cramp" or bool(episode.context & {"fluid_loss", "diuretic_increase"})
    )


def quiet(episode: Ep) -> bool:
    """An entry that no urgent rule can act on at its default thresholds: no symptom, no context, not a cramp, not
    still going, and not longer than U1's limit. The quick log (a strength and a place) is such an entry."""
    return _quiet(episode.kind, episode.symptoms, episode.context, episode.ongoing, episode.length(episode.start))


def _quiet(kind: str, symptoms: Any, context: Any, ongoing: bool, length: dt.timedelta | None) -> bool:
    if symptoms or context or kind == "cramp" or ongoing:
        return False
    return length is None or length <= dt.timedelta(minutes=RULES["U1"].defaults["minutes"])


def screen_row(profile: Any, any_override: bool, row: Any, now: dt.datetime) -> bool:
    """``urgent_screen`` for one stored episode row (the grouped writer's answer), which first tries ``quiet`` on the
    row's own values: the common write is then screened without building the rules' view of the episode."""
    if profile is not None and not any_override and not row.ongoing:
        if row.ended_at is not None:
            length: dt.timedelta | None = row.ended_at - row.started_at
        else:
            length = dt.timedelta(seconds=row.duration_seconds) if row.duration_seconds is not None else None
        if _quiet(row.kind, row.symptoms, row.context, row.ongoing, length) and not needs_history(profile):
            return False
    episode = episode_from_row(row)
    return needs_window(episode) or urgent_screen(profile, any_override, now, episodes=(episode,))


def urgent_screen(
    profile: Any, any_override: bool, now: dt.datetime, *, episodes: tuple[Ep, ...] = (), day: Day | None = None
) -> bool:
    """Whether the full urgent evaluation must run for a write. False means no urgent rule can fire on these
    entries: the common case, a write with no warning sign, for a patient without threshold overrides or rules that
    need weeks of history (U7, U10). An urgent rule that fails here fails safe: the full check runs."""
    if profile is None or any_override or needs_history(profile):
        return True
    if day is None and all(quiet(e) for e in episodes):
        return False
    probe = Diary(now=now, patient=_patient_of(profile), episodes=episodes, checkins=(day,) if day else ())
    result = evaluate(probe, only=[r.id for r in rules_for(probe) if r.urgency == "urgent"])
    return bool(result.findings or result.failed)


_PATIENTS: dict[tuple[Any, ...], Patient] = {}


def _patient_of(profile: Any) -> Patient:
    """``patient_from`` for a profile without overrides, kept per distinct profile: the screen runs for every write."""
    key = (
        tuple(sorted(profile.conditions)),
        profile.time_zone,
        profile.sci_level,
        bool(profile.itb_pump),
        profile.itb_refill_date,
        profile.baseline_systolic,
        profile.sleep_start,
        profile.sleep_end,
    )
    found = _PATIENTS.get(key)
    if found is None:
        if len(_PATIENTS) >= 4096:
            _PATIENTS.clear()
        found = _PATIENTS[key] = patient_from(profile, None, {})
    return found


def needs_history(profile: Any) -> bool:
    """Whether the patient's urgent rules include one that needs the weeks before an entry (U7, U10)."""
    return _history_rules(_patient_of(profile))


@functools.lru_cache(maxsize=4096)
def _history_rules(patient: Patient) -> bool:
    return any(r.id in SPIKE_RULES for r in rules_for(Diary(now=_EPOCH, patient=patient)))


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
