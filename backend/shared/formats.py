"""Times, dates and numbers as people read them in their language (Babel's locale data): a decimal comma in Spanish,
day before month, the 24-hour clock, weekday and month names; and every time in a named time zone.

The diary keeps instants in UTC; a person reads them on the clock of the patient's time zone (whose diary it is), so
that 03:45 on the patient's phone is 03:45 on the clinician's report too, across a daylight-saving change. Plain
functions of plain values: the pages call them, and the templates receive them with the page's language bound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_timezone_location
from babel.numbers import format_decimal, format_percent

from backend.shared.i18n import N_, translate

# The locale whose conventions each language of the app follows (British English: day-month order, 24-hour clock).
LOCALES = {"en": "en_GB", "es": "es_ES"}
TODAY, YESTERDAY, TOMORROW = N_("Today"), N_("Yesterday"), N_("Tomorrow")


def locale_of(language: str) -> str:
    return LOCALES.get(language, LOCALES["en"])


def on_clock(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The instant on the clock of the zone (an instant without a zone is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone)


def clock(moment: dt.datetime, zone: ZoneInfo) -> str:
    """The time of day on the zone's clock, 24-hour: 03:45."""
    return on_clock(moment, zone).strftime("%H:%M")


def day(value: dt.date, language: str, *, weekday: bool = False, year: bool = True) -> str:
    """A date in words: 4 Dec 2026, 4 dic 2026; with its weekday, Friday 4 Dec 2026."""
    pattern = ("EEEE " if weekday else "") + ("d MMM y" if year else "d MMM")
    return format_date(value, pattern, locale=locale_of(language))


def weekday(value: dt.date, language: str) -> str:
    return format_date(value, "EEEE", locale=locale_of(language))


def moment(value: dt.datetime, zone: ZoneInfo, language: str, *, year: bool = True) -> str:
    """A date and time on the zone's clock: 4 Dec 2026, 03:45."""
    pattern = "d MMM y, HH:mm" if year else "d MMM, HH:mm"
    return format_datetime(on_clock(value, zone), pattern, locale=locale_of(language))


def zone_abbreviation(value: dt.datetime, zone: ZoneInfo) -> str:
    """The zone's short name at that instant, as the time-zone database gives it (CET in winter, CEST in summer),
    or its offset from UTC where the zone has no such name (UTC-03 for São Paulo)."""
    name = on_clock(value, zone).tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def zone_name(zone: ZoneInfo, language: str) -> str:
    """The zone in words: Spain (Madrid) Time, hora de España (Madrid)."""
    return str(get_timezone_location(zone, locale=locale_of(language)))


def moment_in_zone(value: dt.datetime, zone: ZoneInfo, language: str) -> str:
    """A date and time with the zone named: 4 Dec 2026, 03:45 CET."""
    return f"{moment(value, zone, language)} {zone_abbreviation(value, zone)}"


def relative_day(value: dt.date, today: dt.date, language: str) -> str:
    """Today, Yesterday or Tomorrow, else the weekday and date: Friday 4 Dec 2026."""
    words = {today: TODAY, today - dt.timedelta(days=1): YESTERDAY, today + dt.timedelta(days=1): TOMORROW}
    if value in words:
        return translate(language, words[value])
    return day(value, language, weekday=True, year=value.year != today.year)


def number(value: float, language: str, digits: int = 1) -> str:
    """A number with at most ``digits`` decimals, in the locale's way: 5.8, 5,8; 1,250 and 1.250."""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return str(format_decimal(value, pattern, locale=locale_of(language)))


def percent(share: float, language: str) -> str:
    """A share as a whole percentage: 75%, 75 %."""
    return str(format_percent(share, "#,##0%", locale=locale_of(language)))


@dataclass(frozen=True, slots=True)
class Formats:
    """The functions above with the reader's language bound: what every template gets as ``fmt``
    (``fmt.moment_in_zone(e.started_at, zone)``, ``fmt.number(5.75)``)."""

    language: str

    def day(self, value: dt.date, *, weekday: bool = False, year: bool = True) -> str:
        return day(value, self.language, weekday=weekday, year=year)

    def weekday(self, value: dt.date) -> str:
        return weekday(value, self.language)

    def moment(self, value: dt.datetime, zone: ZoneInfo, *, year: bool = True) -> str:
        return moment(value, zone, self.language, year=year)

    def moment_in_zone(self, value: dt.datetime, zone: ZoneInfo) -> str:
        return moment_in_zone(value, zone, self.language)

    def zone_name(self, zone: ZoneInfo) -> str:
        return zone_name(zone, self.language)

    def relative_day(self, value: dt.date, today: dt.date) -> str:
        return relative_day(value, today, self.language)

    def number(self, value: float, digits: int = 1) -> str:
        return number(value, self.language, digits)

    def percent(self, share: float) -> str:
        return percent(share, self.language)

    @staticmethod
    def clock(value: dt.datetime, zone: ZoneInfo) -> str:
        return clock(value, zone)

    @staticmethod
    def zone_abbreviation(value: dt.datetime, zone: ZoneInfo) -> str:
        return zone_abbreviation(value, zone)
