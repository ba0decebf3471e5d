"""Times and days that come from outside (query parameters, cursors, bodies) are held to a plausible range.

Python can hold 0001-01-01 at +14:00, but not the same instant in UTC (it falls in year 0), and the database column
converts to UTC before it stores or compares anything: such a value used to end in an OverflowError, and a time
without an offset in "naive datetime" (both 500s). Nothing in a diary, a follow-up or a sync cursor lies outside the
years 1900-2199: in a query parameter such a value is a 400 naming it (the OpenAPI document states the range), in a
cursor or a body a 422 naming the parameter or field (rules the schema cannot state).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import msgspec

from backend.shared.problems import FieldError, Problem, invalid

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# The range as the OpenAPI document states it for query parameters, so that the schema promises no more than the
# server takes: a day in 1900-2199, and a time in 1901-2198 (whatever its offset, inside the range in UTC).
DAY_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})-"
TIME_PATTERN = r"^(190[1-9]|19[1-9][0-9]|20[0-9]{2}|21[0-8][0-9]|219[0-8])-"
OUTSIDE = "is outside the years 1900 to 2199"
NAIVE = "needs a UTC offset, for example 2026-11-01T00:00:00Z"


def instant_problem(value: dt.datetime) -> str | None:
    """Why this instant cannot be used, or None: it has an offset and lies within the plausible years."""
    if value.utcoffset() is None:
        return NAIVE
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        return OUTSIDE
    return None if EARLIEST <= utc < LATEST else OUTSIDE


def day_problem(value: dt.date) -> str | None:
    return None if EARLIEST.date() <= value < LATEST.date() else OUTSIDE


def bad_parameter(name: str, reason: str) -> Problem:
    detail = f"The request has problems: {name}: {reason}"
    return Problem(400, detail, code="invalid-request", errors=[FieldError(name, reason)])


def bad_cursor(name: str, reason: str) -> Problem:
    """A cursor is an opaque string to the schema, which cannot tell one this server gave out from another: a cursor
    that does not decode into positions in range is refused for a rule the schema cannot state, 422 naming it (a
    400 would mean the schema promises more than the server takes; tests/test_fuzz_api.py holds it to that)."""
    return invalid([FieldError(name, reason)])


def checked_instant(value: dt.datetime | None, name: str) -> dt.datetime | None:
    """The instant of a query parameter or cursor, or a 400 naming it."""
    if value is not None and (reason := instant_problem(value)):
        raise bad_parameter(name, reason)
    return value


def checked_day(value: dt.date | None, name: str) -> dt.date | None:
    if value is not None and (reason := day_problem(value)):
        raise bad_parameter(name, reason)
    return value


@functools.cache
def _dated_fields(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of a request Struct that can hold a time or a day, directly or inside nested Structs and lists."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return tuple(field.name for field in info.fields if _may_hold_dates(field.type, set()))


def _may_hold_dates(kind: msgspec.inspect.Type, seen: set[type]) -> bool:
    if isinstance(kind, msgspec.inspect.Metadata):
        return _may_hold_dates(kind.type, seen)
    if isinstance(kind, msgspec.inspect.DateTimeType | msgspec.inspect.DateType):
        return True
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_may_hold_dates(t, seen) for t in kind.types)
    if isinstance(kind, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.FrozenSetType):
        return _may_hold_dates(kind.item_type, seen)
    if isinstance(kind, msgspec.inspect.StructType) and kind.cls not in seen:
        seen.add(kind.cls)
        return any(_may_hold_dates(f.type, seen) for f in kind.fields)
    return False


def out_of_range(value: Any, path: str = "") -> FieldError | None:
    """The first time or day in a decoded request body that lies outside the plausible range, naming its field (the
    app answers 422: a rule the schema cannot state, like the diary's own "more than 10 years ago")."""
    if isinstance(value, dt.datetime):
        reason = instant_problem(value)
        return FieldError(path or "body", reason) if reason else None
    if isinstance(value, dt.date):
        reason = day_problem(value)
        return FieldError(path or "body", reason) if reason else None
    if isinstance(value, msgspec.Struct):
        for name in _dated_fields(type(value)):
            if found := out_of_range(getattr(value, name), f"{path}.{name}" if path else name):
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            if found := out_of_range(item, f"{path}[{index}]"):
                return found
    return None
