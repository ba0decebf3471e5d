"""Times, dates and numbers in the reader's language and the patient's time zone (backend/shared/formats.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from backend.shared import formats

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def test_the_clock_jumps_with_daylight_saving_in_the_patients_zone() -> None:
    """Madrid moves from CET (UTC+1) to CEST (UTC+2) at 01:00 UTC on 29 March 2026: 00:30 UTC is 01:30 on the
    patient's clock, 01:30 UTC is 03:30, and the zone is named for each instant."""
    before = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    after = dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (formats.clock(before, MADRID), formats.clock(after, MADRID)) == ("01:30", "03:30")
    assert formats.zone_abbreviation(before, MADRID) == "CET"
    assert formats.zone_abbreviation(after, MADRID) == "CEST"
    assert formats.moment_in_zone(after, MADRID, "en") == "29 Mar 2026, 03:30 CEST"
    assert formats.moment_in_zone(after, MADRID, "es") == "29 mar 2026, 03:30 CEST"


def test_the_autumn_change_gives_two_instants_the_same_clock_time_told_apart_by_the_zone() -> None:
    """On 25 October 2026 Madrid's 02:30 happens twice: at 00:30 UTC (CEST) and at 01:30 UTC (CET)."""
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert formats.clock(first, MADRID) == formats.clock(second, MADRID) == "02:30"
    assert formats.moment_in_zone(first, MADRID, "en") != formats.moment_in_zone(second, MADRID, "en")


def test_a_naive_instant_is_read_as_utc() -> None:
    assert formats.clock(dt.datetime(2026, 12, 4, 10, 15), MADRID) == "11:15"


def test_dates_put_the_day_first_and_name_the_month_in_the_language() -> None:
    friday = dt.date(2026, 12, 4)
    assert formats.day(friday, "en") == "4 Dec 2026"
    assert formats.day(friday, "es") == "4 dic 2026"
    assert formats.day(friday, "en", weekday=True) == "Friday 4 Dec 2026"
    assert formats.weekday(friday, "es") == "viernes"
    assert formats.day(friday, "xx") == "4 Dec 2026"  # an unknown language reads English


def test_today_yesterday_and_tomorrow_are_words_other_days_have_their_weekday() -> None:
    today = dt.date(2026, 12, 4)
    assert formats.relative_day(today, today, "en") == "Today"
    assert formats.relative_day(today - dt.timedelta(days=1), today, "en") == "Yesterday"
    assert formats.relative_day(today + dt.timedelta(days=1), today, "es") == "Mañana"
    assert formats.relative_day(dt.date(2026, 11, 30), today, "en") == "Monday 30 Nov"
    assert formats.relative_day(dt.date(2025, 11, 30), today, "en") == "Sunday 30 Nov 2025"


def test_numbers_use_the_decimal_mark_of_the_language() -> None:
    assert formats.number(5.75, "en") == "5.8"
    assert formats.number(5.75, "es") == "5,8"
    assert formats.number(3.0, "en") == "3"
    assert formats.number(1250, "en", digits=0) == "1,250"
    assert formats.percent(0.75, "en") == "75%"


def test_a_zone_without_a_short_name_is_named_by_its_offset() -> None:
    assert formats.zone_abbreviation(dt.datetime(2026, 7, 1, tzinfo=UTC), ZoneInfo("America/Sao_Paulo")) == "UTC-03"
    assert formats.zone_name(MADRID, "es") == "hora de España (Madrid)"


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_the_clock_is_the_zones_own_wall_time(instant: dt.datetime) -> None:
    """For any instant and a zone with daylight saving, the time shown is what a clock on the wall there reads."""
    for zone in (MADRID, NEW_YORK):
        wall = instant.astimezone(zone)
        assert formats.clock(instant, zone) == f"{wall.hour:02d}:{wall.minute:02d}"
        assert formats.zone_abbreviation(instant, zone) in {"CET", "CEST", "EST", "EDT"}


def test_the_templates_formats_follow_the_page_language() -> None:
    spanish = formats.Formats("es")
    assert spanish.number(37.55) == "37,6"
    assert spanish.day(dt.date(2026, 12, 4), weekday=True) == "viernes 4 dic 2026"
    assert spanish.moment_in_zone(dt.datetime(2026, 12, 4, 10, 15, tzinfo=UTC), MADRID) == "4 dic 2026, 11:15 CET"


def test_a_report_reads_each_note_on_the_patients_clock_on_both_sides_of_the_autumn_change() -> None:
    """Madrid leaves CEST (UTC+2) for CET (UTC+1) at 01:00 UTC on 25 October 2026: a note written at 03:45 on the
    patient's phone the night before is 01:45 UTC, the night after it is 02:45 UTC; both read 03:45, the zone named."""
    before = dt.datetime(2026, 10, 24, 1, 45, tzinfo=UTC)
    after = dt.datetime(2026, 10, 26, 2, 45, tzinfo=UTC)
    assert formats.moment_in_zone(before, MADRID, "en") == "24 Oct 2026, 03:45 CEST"
    assert formats.moment_in_zone(after, MADRID, "en") == "26 Oct 2026, 03:45 CET"
    assert formats.moment_in_zone(after, MADRID, "es") == "26 oct 2026, 03:45 CET"
    assert formats.clock(after, ZoneInfo("UTC")) == "02:45"  # what the report used to show


def test_a_follow_up_typed_in_the_patients_zone_reads_back_the_same_across_the_spring_change() -> None:
    """10:30 typed for a day before and for a day after Madrid's spring change is stored as different UTC instants
    (09:30 and 08:30) and reads back 10:30 both times."""
    for day, utc_hour, name in ((dt.date(2026, 3, 28), 9, "CET"), (dt.date(2026, 3, 30), 8, "CEST")):
        typed = dt.datetime.combine(day, dt.time(10, 30)).replace(tzinfo=MADRID)
        stored = typed.astimezone(UTC)
        assert stored.hour == utc_hour
        assert formats.moment_in_zone(stored, MADRID, "en").endswith(f"10:30 {name}")


def test_zones_that_change_on_different_weeks_each_name_their_own_offset() -> None:
    """Between 8 March (the United States) and 29 March (the European Union) 2026, New York is 5 hours behind Madrid,
    not 6: the same instant reads 15:30 CET and 10:30 EDT."""
    instant = dt.datetime(2026, 3, 20, 14, 30, tzinfo=UTC)
    assert formats.moment_in_zone(instant, MADRID, "en") == "20 Mar 2026, 15:30 CET"
    assert formats.moment_in_zone(instant, NEW_YORK, "en") == "20 Mar 2026, 10:30 EDT"
    assert formats.zone_name(NEW_YORK, "es") == "hora de Estados Unidos (Nueva York)"
