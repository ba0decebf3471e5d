"""Checks every area's input shares: text a person could have typed, and time zone names."""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def _zones() -> frozenset[str]:
    # available_timezones() also lists the system's own "localtime" and legacy aliases such as "posixrules".
    return frozenset(z for z in zoneinfo.available_timezones() if z not in {"localtime", "posixrules", "Factory"})


@functools.cache
def zone_choices() -> list[tuple[str, list[str]]]:
    """The zones a person picks from, by region (Europe: Europe/Madrid, ...), with UTC first; legacy aliases such as
    "US/Eastern" or "Etc/GMT+3" left out (each place is under its region's name)."""
    regions: dict[str, list[str]] = {}
    for name in sorted(_zones()):
        region, _, place = name.partition("/")
        if place and region not in {"Etc", "SystemV", "US", "Canada", "Mexico", "Brazil", "Chile"}:
            regions.setdefault(region, []).append(name)
    return [("UTC", ["UTC"]), *sorted(regions.items())]


def known_time_zone(name: str) -> bool:
    """An IANA zone name; "localtime" and file paths would mean whatever the server happens to be set to."""
    return name in _zones()


_CONTROL = {chr(c) for c in (*range(32), *range(0x7F, 0xA0)) if chr(c) not in "\t\n\r"}
_LINE_BREAKS = set("\t\n\r\u2028\u2029")
# Embeddings, overrides and isolates make text read differently from what is stored ("Trojan Source"); a person's
# right-to-left writing needs none of them (the marks U+200E/U+200F stay allowed).
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(value: str, *, one_line: bool = False) -> str | None:
    """Why a person's text cannot be stored as it is, or None: control characters are never typed by a person and
    some databases refuse them (PostgreSQL and NUL), and direction overrides disguise what the text says. The one
    check for every text field, the diary's and the accounts' alike; ``one_line`` also refuses line breaks and tabs
    (a name, an e-mail address)."""
    if not _CONTROL.isdisjoint(value) or (one_line and not _LINE_BREAKS.isdisjoint(value)):
        return "contains control characters"
    if not _BIDI_CONTROLS.isdisjoint(value):
        return "contains characters that change the direction of the text"
    return None
