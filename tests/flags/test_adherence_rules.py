"""Rules R10 (adherence gap) and S5 (baclofen missed) counted from the answered doses (CLINICAL.md (a)): per dose where
the patient answered the doses, from the check-in's medicines question on the other days (flags/measures.adherence)."""

from __future__ import annotations

import dataclasses

import pytest

from backend.flags.measures import adherence, missed_day
from backend.flags.window import DoseAnswer, Plan
from tests.flags.builders import check, day, day_ago, days, diary, fired, plan, sci

BACLOFEN = "Baclofen 10 mg"


def timed(kind: str, name: str, started_days_ago: int, times: tuple[str, ...] = ("08:00", "20:00")) -> Plan:
    return dataclasses.replace(plan(kind, name, started_days_ago), times=times)


def answered(p: Plan, statuses: dict[int, tuple[str, ...]]) -> tuple[DoseAnswer, ...]:
    """{days_ago: (status of the first time, status of the second...)} as dose records."""
    return tuple(
        DoseAnswer(p.id, day_ago(d), p.times[i], status)
        for d, per_time in statuses.items()
        for i, status in enumerate(per_time)
    )


class TestR10FromDoses:
    on = timed("muscle_relaxant", "Tizanidine", 60)

    def test_doses_taken_22_of_28_fire(self) -> None:
        """14 days of two doses, 6 skipped: 78.6% < 80% (R10)."""
        statuses = {d: ("taken", "skipped" if d < 6 else "taken") for d in range(14)}
        d = diary(plans=[self.on], doses=answered(self.on, statuses))
        f = check(fired(d, "R10"), "R10", checkin_days=[day_ago(x) for x in range(14)])
        assert f.measures["adherence"] == pytest.approx(22 / 28)
        assert "22 of 28 doses" in f.clinician_message

    def test_doses_win_over_the_checkin_of_the_same_day(self) -> None:
        """The check-in said "all" on every day, but the doses say half were skipped: the doses count (R10)."""
        statuses = {d: ("taken", "skipped") for d in range(5)}
        d = diary(days(range(5), meds_taken="all"), plans=[self.on], doses=answered(self.on, statuses))
        f = check(fired(d, "R10"), "R10")
        assert f.measures["adherence"] == pytest.approx(0.5)

    def test_all_taken_does_not_fire_and_later_is_not_a_miss(self) -> None:
        statuses = {d: ("taken", "later") for d in range(10)}
        d = diary(plans=[self.on], doses=answered(self.on, statuses))
        assert fired(d, "R10") is None
        assert adherence(d, [day_ago(x) for x in range(14)], [self.on]).counted == 10

    def test_days_without_doses_count_their_checkin_as_the_days_doses(self) -> None:
        """Two days per dose (4 of 4 taken) and three check-ins "none" (each day's two planned doses): 4 / 10."""
        doses = answered(self.on, {0: ("taken", "taken"), 1: ("taken", "taken")})
        d = diary(days([2, 3, 4], meds_taken="none"), plans=[self.on], doses=doses)
        measured = adherence(d, [day_ago(x) for x in range(14)], [self.on])
        assert (measured.taken, measured.counted) == (4, 10)
        f = check(fired(d, "R10"), "R10", checkin_days=[day_ago(x) for x in range(5)])
        assert f.measures["adherence"] == pytest.approx(0.4)

    def test_doses_of_another_plan_do_not_count(self) -> None:
        stretches = timed("stretching", "Stretches", 60)
        d = diary(plans=[self.on, stretches], doses=answered(stretches, {x: ("skipped",) for x in range(10)}))
        assert fired(d, "R10") is None


class TestS5FromDoses:
    baclofen = timed("muscle_relaxant", BACLOFEN, 60)

    def test_two_days_of_skipped_baclofen_fire(self) -> None:
        doses = answered(self.baclofen, {1: ("skipped", "skipped"), 0: ("skipped", "skipped")})
        d = diary(who=sci("T10"), plans=[self.baclofen], doses=doses)
        check(fired(d, "S5"), "S5", episodes=[], checkin_days=[day_ago(1), day_ago(0)])

    def test_one_dose_taken_breaks_the_run_whatever_the_checkin_says(self) -> None:
        doses = answered(self.baclofen, {1: ("skipped", "taken"), 0: ("skipped", "skipped")})
        d = diary(days([1, 0], meds_taken="none"), who=sci("T10"), plans=[self.baclofen], doses=doses)
        assert fired(d, "S5") is None
        assert missed_day(d, day_ago(1), [self.baclofen]) is False

    def test_a_checkin_none_and_a_day_of_skipped_doses_make_a_run(self) -> None:
        doses = answered(self.baclofen, {0: ("skipped", "skipped")})
        d = diary(day(1, meds_taken="none"), who=sci("T10"), plans=[self.baclofen], doses=doses)
        check(fired(d, "S5"), "S5", checkin_days=[day_ago(1), day_ago(0)])

    def test_later_alone_is_not_a_missed_day(self) -> None:
        doses = answered(self.baclofen, {1: ("later", "later"), 0: ("later", "later")})
        d = diary(who=sci("T10"), plans=[self.baclofen], doses=doses)
        assert fired(d, "S5") is None
        assert missed_day(d, day_ago(0), [self.baclofen]) is None
