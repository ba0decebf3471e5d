"""The derived measures (backend/flags/measures.py): local daily counts, logged days, completeness, the 28-day median
baseline with its first-14-days fallback, weekly counts, the PSFS band read from the log, and disturbed nights."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.flags import measures
from backend.flags.window import Day
from tests.flags.builders import (
    CRAMPS,
    TODAY,
    day,
    day_ago,
    days,
    diary,
    ep,
    ep_at,
    eps,
    patient,
    spread,
    stiffness,
)


def local(y: int, m: int, d: int, hh: int, mm: int, offset: int) -> dt.datetime:
    return (dt.datetime(y, m, d, hh, mm) - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC)


class TestLocalDays:
    def test_each_entry_is_counted_on_the_day_of_its_own_offset(self) -> None:
        # Madrid, 25 October 2026: 03:00 CEST (+120) becomes 02:00 CET (+60).
        e = [
            ep_at(local(2026, 10, 24, 23, 30, 120), offset=120),  # 21:30 UTC on the 24th
            ep_at(local(2026, 10, 25, 0, 30, 120), offset=120),  # 22:30 UTC on the 24th
            ep_at(local(2026, 10, 25, 2, 30, 120), offset=120),  # the first 02:30, 00:30 UTC
            ep_at(local(2026, 10, 25, 2, 30, 60), offset=60),  # the second 02:30, 01:30 UTC
            ep_at(local(2026, 10, 25, 23, 30, 60), offset=60),  # 22:30 UTC on the 25th
            ep_at(local(2026, 10, 26, 0, 30, 60), offset=60),  # 23:30 UTC on the 25th
            ep_at(local(2026, 10, 26, 1, 0, -300), offset=-300),  # travelling: 06:00 UTC on the 26th
        ]
        d = diary(e, now=dt.datetime(2026, 10, 27, 12, tzinfo=dt.UTC), who=patient(time_zone="Europe/Madrid"))
        days_ = [dt.date(2026, 10, 23) + dt.timedelta(days=i) for i in range(4)]
        assert measures.daily_counts(d, days_) == dict(zip(days_, [0, 1, 4, 2], strict=True))

    def test_daily_counts_cover_every_asked_day_in_order(self) -> None:
        d = diary(ep(0), ep(0), ep(2))
        wanted = [day_ago(3), day_ago(2), day_ago(1), TODAY]
        counts = measures.daily_counts(d, wanted)
        assert list(counts) == wanted
        assert list(counts.values()) == [0, 1, 0, 2]

    def test_logged_days_are_episode_days_and_check_in_days(self) -> None:
        d = diary(ep(0), ep(2), day(2), day(5, no_episodes=True))
        assert measures.logged_days(d) == {TODAY, day_ago(2), day_ago(5)}

    def test_completeness_over_the_last_n_days(self) -> None:
        d = diary(ep(0), ep(2), day(6), day(7), day(10, no_episodes=True))
        assert measures.completeness(d) == (3, 7)
        assert measures.completeness(d, 14) == (5, 14)
        assert measures.completeness(d, 7, end=day_ago(4)) == (3, 7)  # days 10..4 ago: 10, 7, 6


class TestBaseline:
    def test_median_of_the_logged_days_among_the_previous_28(self) -> None:
        # 15 logged days with 2, 13 not logged at all: unlogged days are not zeros.
        d = diary(spread({d: 2 for d in range(1, 16)}))
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 2
        assert set(b.days) == {day_ago(i) for i in range(1, 16)}

    def test_check_in_days_without_episodes_count_as_zero(self) -> None:
        d = diary(spread({d: 3 for d in range(1, 14)}), days(range(14, 40), no_episodes=True))
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 0  # 13 threes and 15 zeros in the window (days 29..39 ago are outside it)
        assert len(b.days) == 28

    def test_the_window_is_the_28_days_before(self) -> None:
        d = diary(spread({d: 1 for d in range(1, 29)}), eps(9, 29), eps(9, 0))
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 1
        assert min(b.days) == day_ago(28) and max(b.days) == day_ago(1)

    def test_median_of_an_even_number_of_days(self) -> None:
        d = diary(spread({d: 1 for d in range(1, 8)}), spread({d: 2 for d in range(8, 15)}))
        b = measures.count_baseline(d, TODAY)
        assert b is not None and b.value == 1.5

    def test_exactly_14_logged_days_need_no_fallback(self) -> None:
        early = spread({d: 9 for d in range(100, 114)})
        d = diary(early, spread({d: 1 for d in range(1, 15)}))
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 1 and len(b.days) == 14

    def test_fewer_than_14_fall_back_to_the_first_14_logged_days(self) -> None:
        early = spread({d: 5 for d in range(100, 114)})
        later = spread({d: 1 for d in range(1, 14)})  # 13 logged days in the window
        d = diary(early, spread({d: 7 for d in range(80, 90)}), later)
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 5
        assert set(b.days) == {day_ago(i) for i in range(100, 114)}

    def test_fallback_starts_at_enrolment(self) -> None:
        before_enrolment = spread({d: 9 for d in range(200, 214)})
        first = spread({d: 4 for d in range(100, 114)})
        d = diary(before_enrolment, first, ep(3), who=patient(enrolled_on=day_ago(114)))
        b = measures.count_baseline(d, TODAY)
        assert b is not None
        assert b.value == 4

    def test_fallback_only_uses_days_before_the_reference_day(self) -> None:
        d = diary(spread({d: 2 for d in range(0, 5)}))
        b = measures.count_baseline(d, day_ago(2))
        assert b is not None
        assert set(b.days) == {day_ago(3), day_ago(4)}

    def test_no_diary_no_baseline(self) -> None:
        assert measures.count_baseline(diary(), TODAY) is None
        assert measures.baseline(diary(ep(1)), measures.stiffness_on(diary(ep(1))), TODAY) is None

    def test_stiffness_baseline_skips_check_ins_without_a_value(self) -> None:
        d = diary(stiffness({d: 4 for d in range(1, 15)}), days(range(15, 29)))
        b = measures.baseline(d, measures.stiffness_on(d), TODAY)
        assert b is not None
        assert b.value == 4 and len(b.days) == 14


class TestWeeklyCounts:
    def test_consecutive_rolling_weeks_oldest_first(self) -> None:
        d = diary(ep(0), ep(6), ep(7), ep(13), ep(13), ep(14), ep(21))
        assert measures.weekly_counts(d, 3) == [1, 3, 2]
        assert measures.weekly_counts(d, 1, end=day_ago(7)) == [3]


class TestPsfsBand:
    def test_no_episodes_is_level_0(self) -> None:
        assert measures.psfs_band_from_log(diary(days(range(7)))) == 0
        assert measures.psfs_band_from_log(diary(ep(7))) == 0

    def test_only_stimulation_triggers_is_level_1(self) -> None:
        d = diary(ep(0, triggers=frozenset({"touch"})), ep(1, triggers=frozenset({"transfer", "position_change"})))
        assert measures.psfs_band_from_log(d) == 1
        d = diary(ep(0, triggers=frozenset({"touch"})), ep(1))
        assert measures.psfs_band_from_log(d) == 2
        d = diary(ep(0, triggers=frozenset({"touch", "stress"})))
        assert measures.psfs_band_from_log(d) == 2

    @pytest.mark.parametrize(("per_day", "band"), [(1, 2), (16, 2), (17, 3), (160, 3), (161, 4)])
    def test_more_than_once_and_more_than_ten_times_an_hour(self, per_day: int, band: int) -> None:
        # One logged day of 16 waking hours.
        assert measures.psfs_band_from_log(diary(eps(per_day, 0))) == band

    def test_rate_is_per_logged_day(self) -> None:
        assert measures.psfs_band_from_log(diary(eps(17, 0), day(3))) == 2  # 17 over 2 days
        assert measures.psfs_band_from_log(diary(eps(33, 0), day(3))) == 3

    def test_end_moves_the_week(self) -> None:
        d = diary(eps(20, 10))
        assert measures.psfs_band_from_log(d) == 0
        assert measures.psfs_band_from_log(d, end=day_ago(8)) == 3


class TestNights:
    def test_a_night_is_named_by_the_evening_it_began(self) -> None:
        d = diary(ep(0, dt.time(3), woke_from_sleep=True), ep(1, woke_from_sleep=False), ep(2, woke_from_sleep=None))
        # 03:00 today belongs to the night that began yesterday evening.
        assert measures.nights_disturbed(d, [TODAY, day_ago(1), day_ago(2)]) == {day_ago(1)}
        assert measures.nights_disturbed(d, [TODAY]) == set()

    def test_share_of_nights_disturbed_over_logged_days(self) -> None:
        d = diary(ep(0, dt.time(3), woke_from_sleep=True), ep(1), day(2), ep(3, dt.time(23), woke_from_sleep=True))
        assert measures.share_of_nights_disturbed(d) == 0.5  # nights of day 1 and day 3, over 4 logged days
        assert measures.share_of_nights_disturbed(diary(ep(8))) is None

    def test_two_wakings_in_one_night_are_one_night(self) -> None:
        """A night runs from the evening to the morning: waking at 23:30 and again at 02:00 is one disturbed night."""
        d = diary(
            ep(3, dt.time(23, 30), woke_from_sleep=True),
            ep(2, dt.time(2, 0), woke_from_sleep=True),
            who=CRAMPS,
        )
        assert len(measures.nights_disturbed(d, [day_ago(3), day_ago(2)])) == 1


def test_diary_checkin_lookup() -> None:
    d = diary(day(1, stiffness=4))
    assert d.checkin(day_ago(1)) == Day(day_ago(1), stiffness=4)
    assert d.checkin(TODAY) is None
