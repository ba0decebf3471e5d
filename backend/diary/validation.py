"""Rules that span several fields, which a type alone cannot say (ASVS 2.2.3). Each returns every problem at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from backend.diary.schemas import CheckInIn, EpisodeIn, PennIn, ProfileIn, RegimenIn
from backend.shared.checks import known_time_zone, text_problem
from backend.shared.problems import FieldError, Problem, invalid

# Phones' clocks drift; anything later than this past the server's now is a typo or a wrong clock, not a spasm.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Older than this is not a diary entry but an error (a wrong year); imports of older records go through support.
OLDEST = dt.timedelta(days=3660)
MAX_EPISODE = dt.timedelta(hours=24)


def _instant(errors: list[FieldError], field: str, value: dt.datetime | None, now: dt.datetime) -> None:
    if value is None:
        return
    if value > now + CLOCK_SKEW:
        errors.append(FieldError(field, "is in the future; check the date and the phone's clock"))
    elif value < now - OLDEST:
        errors.append(FieldError(field, "is more than 10 years ago; check the year"))


def _unique(errors: list[FieldError], field: str, values: Sequence[object]) -> None:
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            errors.append(FieldError(f"{field}[{index}]", "is listed twice"))
        seen.add(value)


def _text(errors: list[FieldError], field: str, value: str | None) -> None:
    if value is not None and (reason := text_problem(value)):
        errors.append(FieldError(field, reason))


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise invalid(errors)


def check_episode(data: EpisodeIn, now: dt.datetime) -> None:
    errors: list[FieldError] = []
    _instant(errors, "started_at", data.started_at, now)
    _instant(errors, "ended_at", data.ended_at, now)
    _instant(errors, "entered_at", data.entered_at, now)
    given = [
        name
        for name, present in (
            ("ended_at", data.ended_at is not None),
            ("duration_seconds", data.duration_seconds is not None),
            ("ongoing", data.ongoing),
        )
        if present
    ]
    if len(given) > 1:
        errors.append(
            FieldError(given[1], f"give only one of ended_at, duration_seconds or ongoing (also got {given[0]})")
        )
    if data.ended_at is not None:
        if data.ended_at <= data.started_at:
            errors.append(FieldError("ended_at", "must be after started_at"))
        elif data.ended_at - data.started_at > MAX_EPISODE:
            errors.append(FieldError("ended_at", "an episode cannot last more than 24 hours; log a new one each day"))
    if data.entered_at is not None and data.entered_at < data.started_at - CLOCK_SKEW:
        errors.append(FieldError("entered_at", "is before the episode started"))
    _unique(errors, "body_sites", [(b.site, b.side) for b in data.body_sites])
    _unique(errors, "triggers", data.triggers)
    _unique(errors, "own_triggers", [t.strip().lower() for t in data.own_triggers])
    for index, text in enumerate(data.own_triggers):
        if not text.strip():
            errors.append(FieldError(f"own_triggers[{index}]", "is empty"))
        _text(errors, f"own_triggers[{index}]", text)
    for index, treatment in enumerate(data.treatments):
        _text(errors, f"treatments[{index}].name", treatment.name)
        _text(errors, f"treatments[{index}].dose", treatment.dose)
    _text(errors, "note", data.note)
    _unique(errors, "symptoms", data.symptoms)
    _unique(errors, "context", data.context)
    _unique(errors, "impacts", data.impacts)
    if "none_known" in data.triggers and len(data.triggers) > 1:
        errors.append(FieldError("triggers", "'none_known' cannot be combined with other triggers"))
    _raise(errors)


def _day(errors: list[FieldError], field: str, value: dt.date | None, today: dt.date) -> None:
    if value is None:
        return
    # A day ahead is allowed: the patient's local date can be one ahead of the server's UTC date.
    if value > today + dt.timedelta(days=1):
        errors.append(FieldError(field, "is in the future"))
    elif value < today - OLDEST:
        errors.append(FieldError(field, "is more than 10 years ago; check the year"))


def _between(errors: list[FieldError], field: str, value: dt.date, earliest: dt.date, latest: dt.date) -> None:
    if value > latest:
        errors.append(FieldError(field, f"is too far in the future (latest {latest.isoformat()})"))
    elif value < earliest:
        errors.append(FieldError(field, "is more than 10 years ago; check the year"))


def check_checkin(day: dt.date, data: CheckInIn, now: dt.datetime) -> None:
    errors: list[FieldError] = []
    _day(errors, "day", day, now.date())
    _instant(errors, "entered_at", data.entered_at, now)
    _unique(errors, "symptoms", data.symptoms)
    _text(errors, "note", data.note)
    _raise(errors)


def iso_week_start(week: str) -> dt.date:
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def check_penn(week: str, data: PennIn, now: dt.datetime) -> None:
    errors: list[FieldError] = []
    try:
        _day(errors, "week", iso_week_start(week), now.date())
    except ValueError:
        errors.append(FieldError("week", "is not a week of that year"))
    if data.frequency == 0 and data.severity is not None:
        errors.append(FieldError("severity", "leave out severity when there were no spasms (frequency 0)"))
    if data.frequency > 0 and data.severity is None:
        errors.append(FieldError("severity", "is needed when there were spasms: 1 mild, 2 moderate, 3 severe"))
    _instant(errors, "entered_at", data.entered_at, now)
    _raise(errors)


def check_regimen(data: RegimenIn, now: dt.datetime) -> None:
    errors: list[FieldError] = []
    # A plan may be written ahead (a treatment starting next month) but not decades away.
    _between(errors, "start_date", data.start_date, now.date() - OLDEST, now.date() + dt.timedelta(days=365))
    if data.stop_date is not None:
        if data.stop_date < data.start_date:
            errors.append(FieldError("stop_date", "must not be before start_date"))
        _between(errors, "stop_date", data.stop_date, now.date() - OLDEST, now.date() + OLDEST)
    _unique(errors, "times", data.times)
    for name in ("name", "dose", "schedule", "note"):
        _text(errors, name, getattr(data, name))
    _instant(errors, "entered_at", data.entered_at, now)
    _raise(errors)


def check_profile(data: ProfileIn) -> None:
    errors: list[FieldError] = []
    if not known_time_zone(data.time_zone):
        errors.append(FieldError("time_zone", "is not a known time zone name such as Europe/London"))
    _unique(errors, "conditions", data.conditions)
    if data.sci_level is not None and "spinal_cord_injury" not in data.conditions:
        errors.append(FieldError("sci_level", "only applies with the condition spinal_cord_injury"))
    _raise(errors)


def local_day(started_at: dt.datetime, offset_minutes: int) -> dt.date:
    """The day an episode is counted on: its start in the offset the phone recorded (as the rules count it)."""
    return (started_at.astimezone(dt.UTC) + dt.timedelta(minutes=offset_minutes)).date()


def no_episodes_contradicted(day: dt.date, episode_ids: Sequence[object]) -> Problem:
    """A check-in saying "no episodes today" on a day that holds episodes: both are named, nothing is saved."""
    n = len(episode_ids)
    logged = f"{n} episode{'s are' if n != 1 else ' is'} logged on {day.isoformat()}"
    return Problem(
        422,
        f'This check-in says "no episodes" on {day.isoformat()}, but {logged}. Untick "no episodes", or delete '
        "those entries first. Nothing was saved.",
        code="contradiction",
        errors=[
            FieldError("no_episodes", f"says there were none, but {logged}"),
            FieldError("episodes", f"{logged}: remove them, or untick no_episodes"),
        ],
        extra_members={"day": day.isoformat(), "episodes": [str(i) for i in episode_ids]},
    )


def episode_on_quiet_day(day: dt.date) -> Problem:
    """An episode on a day whose check-in says "no episodes": both are named, nothing is saved."""
    return Problem(
        422,
        f"The check-in of {day.isoformat()} says there were no episodes that day, so this episode was not saved. "
        'Untick "no episodes" on that check-in first, then save the episode again.',
        code="contradiction",
        errors=[
            FieldError("started_at", f"falls on {day.isoformat()}, whose check-in says there were no episodes"),
            FieldError("checkin.no_episodes", f"the check-in of {day.isoformat()} says there were no episodes"),
        ],
        extra_members={"day": day.isoformat(), "checkin": f"/api/v1/checkins/{day.isoformat()}"},
    )
