"""Every follow-up rule (CLINICAL.md section (a)) just below, at and above its thresholds, through engine.evaluate
with a patient whose conditions select the rule, and directly where that is simpler.

Tests marked "Regression (fixed)" were written when a rule differed from CLINICAL.md, from its own docstring or from
the brief; they keep it that way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from backend.flags.engine import RULES, evaluate, rules_for
from backend.flags.rules import routine
from backend.flags.window import Day, Diary, Ep, Patient
from tests.flags.builders import (
    CP,
    CRAMPS,
    MS,
    NIGHT,
    NOW,
    TODAY,
    amend,
    check,
    count_spike,
    day,
    day_ago,
    days,
    diary,
    ep,
    ep_at,
    eps,
    fired,
    ids,
    nrs_spike,
    patient,
    plan,
    run,
    sci,
    spread,
    stiffness,
)

MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)
LEG = (("calf", "left"),)


# --- Urgent -----------------------------------------------------------------------------------------------------------


class TestU1ProlongedEpisode:
    def test_exactly_ten_minutes_does_not_fire(self) -> None:
        assert fired(diary(ep(0, duration_seconds=600)), "U1") is None

    def test_ten_minutes_and_one_second_fires(self) -> None:
        e = ep(0, duration_seconds=601)
        f = check(fired(diary(e, ep(1, duration_seconds=60)), "U1"), "U1", episodes=[e], checkin_days=[])
        assert "lasted" in f.patient_message

    def test_end_time_counts_like_a_duration(self) -> None:
        e = ep(1)
        at_limit = dataclasses.replace(e, end=e.start + 10 * MIN)
        over = dataclasses.replace(e, end=e.start + 10 * MIN + SEC)
        assert fired(diary(at_limit), "U1") is None
        check(fired(diary(over), "U1"), "U1", episodes=[over])

    def test_ongoing_episode_started_eleven_minutes_ago_fires(self) -> None:
        e = ep_at(NOW - 11 * MIN, ongoing=True)
        f = check(fired(diary(e), "U1"), "U1", episodes=[e])
        assert "has been going on" in f.patient_message
        assert "still ongoing" in f.clinician_message

    @pytest.mark.parametrize("ago", [9 * MIN, 10 * MIN])
    def test_ongoing_episode_not_yet_over_the_limit_does_not_fire(self, ago: dt.timedelta) -> None:
        assert fired(diary(ep_at(NOW - ago, ongoing=True)), "U1") is None

    def test_episode_with_no_length_does_not_fire(self) -> None:
        assert fired(diary(ep(0)), "U1") is None

    def test_looks_back_seven_local_days(self) -> None:
        inside, outside = ep(6, duration_seconds=1200), ep(7, duration_seconds=1200)
        check(fired(diary(inside, outside), "U1"), "U1", episodes=[inside])
        assert fired(diary(outside), "U1") is None

    def test_no_relief_from_self_care_strengthens_the_wording(self) -> None:
        helped = ep(0, duration_seconds=900, treatments=(("stretching", 2, None),))
        not_helped = ep(0, duration_seconds=900, treatments=(("stretching", 1, None),))
        assert "self-care" not in check(fired(diary(helped), "U1"), "U1").patient_message
        assert "self-care has not helped" in check(fired(diary(not_helped), "U1"), "U1").patient_message

    def test_minutes_override(self) -> None:
        short, longer = ep(0, duration_seconds=601), ep(0, duration_seconds=901)
        assert fired(diary(short), "U1", {"U1": {"minutes": 15}}) is None
        check(fired(diary(short, longer), "U1", {"U1": {"minutes": 15}}), "U1", episodes=[longer])


class TestU2InfectionOrToxin:
    @pytest.mark.parametrize("context", ["recent_wound", "toxin_exposure"])
    def test_wound_or_toxin_fires(self, context: str) -> None:
        e = ep(0, context=frozenset({context}))
        check(fired(diary(e, ep(0)), "U2"), "U2", episodes=[e], checkin_days=[])

    def test_other_context_or_old_episode_does_not_fire(self) -> None:
        assert fired(diary(ep(0, context=frozenset({"fluid_loss"}))), "U2") is None
        assert fired(diary(ep(7, context=frozenset({"recent_wound"}))), "U2") is None


class TestU3AtypicalCrampSite:
    @pytest.mark.parametrize("site", ["chest", "abdomen", "upper_arm", "hand"])
    def test_cramp_in_chest_arm_or_belly_fires(self, site: str) -> None:
        e = ep(0, kind="cramp", sites=((site, "left"),))
        check(fired(diary(e, ep(0, kind="cramp", sites=LEG)), "U3"), "U3", episodes=[e])

    def test_leg_cramp_or_chest_spasm_does_not_fire(self) -> None:
        assert fired(diary(ep(0, kind="cramp", sites=LEG)), "U3") is None
        assert fired(diary(ep(0, kind="spasm", sites=(("chest", "middle"),))), "U3") is None


class TestU4NewNeuroDeficit:
    @pytest.mark.parametrize("who", [CRAMPS, MS, sci("T10"), CP])
    def test_new_twitching_fires_for_every_condition(self, who: Patient) -> None:
        """Regression (fixed): ticked "new muscle twitching" was ignored for MS, SCI, CP and stroke. The checklist
        asks for new twitching only, so it is a warning sign for everyone (CLINICAL.md (a), note 4 as corrected)."""
        e = ep(0, symptoms=frozenset({"twitching"}))
        check(fired(diary(e, who=who), "U4"), "U4", episodes=[e])

    @pytest.mark.parametrize("who", [CRAMPS, MS, sci("T10"), CP])
    def test_new_weakness_fires_for_everyone(self, who: Patient) -> None:
        e = ep(1, symptoms=frozenset({"new_weakness"}))
        check(fired(diary(e, who=who), "U4"), "U4", episodes=[e])

    def test_check_in_with_new_numbness_fires_with_the_day_as_evidence(self) -> None:
        f = check(fired(diary(day(2, symptoms=frozenset({"new_numbness"})), day(1), who=MS), "U4"), "U4")
        assert f.episode_ids == set() and f.checkin_days == {day_ago(2)}


class TestU5FluidLossCramps:
    def test_cramp_exactly_48_hours_after_fluid_loss_fires(self) -> None:
        loss = ep(3, context=frozenset({"fluid_loss"}))
        cramp = ep_at(loss.start + dt.timedelta(hours=48), kind="cramp")
        check(fired(diary(loss, cramp), "U5"), "U5", episodes=[loss, cramp])

    def test_cramp_48_hours_and_a_second_after_does_not_fire(self) -> None:
        loss = ep(3, context=frozenset({"diuretic_increase"}))
        cramp = ep_at(loss.start + dt.timedelta(hours=48) + SEC, kind="cramp")
        assert fired(diary(loss, cramp), "U5") is None

    def test_cramp_before_the_loss_or_a_spasm_after_it_does_not_fire(self) -> None:
        loss = ep(2, context=frozenset({"fluid_loss"}))
        before = ep_at(loss.start - MIN, kind="cramp")
        spasm = ep_at(loss.start + MIN, kind="spasm")
        assert fired(diary(loss, before, spasm), "U5") is None

    def test_cramp_logged_with_fluid_loss_itself_fires(self) -> None:
        cramp = ep(0, kind="cramp", context=frozenset({"fluid_loss"}))
        check(fired(diary(cramp), "U5"), "U5", episodes=[cramp])

    def test_hours_override(self) -> None:
        loss = ep(3, context=frozenset({"fluid_loss"}))
        cramp = ep_at(loss.start + dt.timedelta(hours=30), kind="cramp")
        assert fired(diary(loss, cramp), "U5", {"U5": {"hours": 24}}) is None
        check(fired(diary(loss, cramp), "U5", {"U5": {"hours": 30}}), "U5", episodes=[loss, cramp])


class TestU6LegSwellingRedness:
    @pytest.mark.parametrize("skin", ["redness", "warmth", "skin_change"])
    def test_leg_swelling_with_skin_sign_fires(self, skin: str) -> None:
        e = ep(0, sites=LEG, symptoms=frozenset({"swelling", skin}))
        f = check(fired(diary(e), "U6"), "U6", episodes=[e])
        assert "one-sided" in f.clinician_message

    def test_swelling_alone_or_in_the_arm_does_not_fire(self) -> None:
        assert fired(diary(ep(0, sites=LEG, symptoms=frozenset({"swelling"}))), "U6") is None
        arm = ep(0, sites=(("forearm", "left"),), symptoms=frozenset({"swelling", "redness"}))
        assert fired(diary(arm), "U6") is None

    def test_check_in_with_swelling_and_warmth_fires(self) -> None:
        f = check(fired(diary(day(0, symptoms=frozenset({"swelling", "warmth"}))), "U6"), "U6")
        assert f.checkin_days == {TODAY}


PUMP = patient("idiopathic_cramps", itb_pump=True)
SPINAL = sci("T10")  # below T6: no U8


class TestU7ItbWithdrawal:
    def test_pump_alarm_with_itching_fires(self) -> None:
        alarm = ep(1, context=frozenset({"itb_pump_alarm"}))
        sign = ep(0, symptoms=frozenset({"itching"}))
        check(fired(diary(alarm, sign, who=PUMP), "U7"), "U7", episodes=[alarm, sign])

    def test_pump_alarm_without_a_warning_sign_does_not_fire(self) -> None:
        assert fired(diary(ep(0, context=frozenset({"itb_pump_alarm"})), who=PUMP), "U7") is None

    def test_overdue_refill_with_fever_at_the_cut_off_fires(self) -> None:
        who = dataclasses.replace(PUMP, itb_refill_date=day_ago(1))
        check(fired(diary(day(0, temperature_c=38.0), who=who), "U7"), "U7", checkin_days=[TODAY])

    def test_overdue_refill_just_below_fever_does_not_fire(self) -> None:
        who = dataclasses.replace(PUMP, itb_refill_date=day_ago(1))
        assert fired(diary(day(0, temperature_c=37.9), who=who), "U7") is None

    def test_refill_due_today_is_not_overdue(self) -> None:
        who = dataclasses.replace(PUMP, itb_refill_date=TODAY)
        assert fired(diary(day(0, temperature_c=39.0), who=who), "U7") is None

    def test_rebound_spasticity_with_confusion_fires(self) -> None:
        sign = ep(0, symptoms=frozenset({"confusion"}))
        f = check(fired(diary(nrs_spike(), sign, who=dataclasses.replace(MS, itb_pump=True)), "U7"), "U7")
        assert sign.id in f.episode_ids and {day_ago(0), day_ago(1), day_ago(2)} <= f.checkin_days

    def test_only_with_a_pump(self) -> None:
        alarm = ep(0, context=frozenset({"itb_pump_alarm"}), symptoms=frozenset({"racing_heart"}))
        assert fired(diary(alarm, who=sci("C5")), "U7") is None
        assert "U7" not in {r.id for r in rules_for(diary(who=CRAMPS))}
        assert "U7" in {r.id for r in rules_for(diary(who=PUMP))}
        check(fired(diary(alarm, who=PUMP), "U7"), "U7", episodes=[alarm])


class TestU8AutonomicDysreflexia:
    @pytest.mark.parametrize(
        ("level", "fires"), [("C5", True), ("T6", True), ("T7", False), ("L1", False), ("T10", False), (None, False)]
    )
    def test_only_at_or_above_t6(self, level: str | None, fires: bool) -> None:
        e = ep(0, symptoms=frozenset({"pounding_headache"}))
        f = fired(diary(e, who=sci(level)), "U8")
        if fires:
            check(f, "U8", episodes=[e])
        else:
            assert f is None

    def test_systolic_rise_of_20_fires_and_19_does_not(self) -> None:
        who = sci("T4", baseline_systolic=120)
        check(fired(diary(day(0, systolic_bp=140), who=who), "U8"), "U8", checkin_days=[TODAY])
        assert fired(diary(day(0, systolic_bp=139), who=who), "U8") is None

    def test_flushing_on_a_check_in_fires(self) -> None:
        d = diary(day(1, symptoms=frozenset({"flushing_or_sweating"})), who=sci("C7"))
        check(fired(d, "U8"), "U8", checkin_days=[day_ago(1)])

    def test_not_for_cerebral_palsy_by_default(self) -> None:
        d = diary(ep(0, symptoms=frozenset({"pounding_headache"})), who=CP)
        assert "U8" not in evaluate(d).evaluated
        assert fired(d, "U8") is None

    def test_cerebral_palsy_with_u8_enabled_by_the_clinician(self) -> None:
        """Regression (fixed): CLINICAL.md note 4 ("CP: like SCI minus U8 unless the clinician enables it"). The engine runs U8 for
        a CP patient whose enabled_rules hold it, but autonomic_dysreflexia() (rules/urgent.py:156) returns None for
        anyone without the spinal_cord_injury condition, so enabling it can never raise anything."""
        e = ep(0, symptoms=frozenset({"pounding_headache"}))
        d = diary(e, who=dataclasses.replace(CP, enabled_rules=frozenset({"U8"})))
        assert "U8" in evaluate(d).evaluated
        check(fired(d, "U8"), "U8", episodes=[e])


class TestU9BreathingOrSwallowing:
    @pytest.mark.parametrize("sign", ["breathing_difficulty", "swallowing_difficulty"])
    @pytest.mark.parametrize("who", [CRAMPS, MS, sci("T10"), CP, NIGHT, patient()])
    def test_fires_for_every_condition(self, sign: str, who: Patient) -> None:
        """Regression (fixed): U9 ran for SCI and stroke only, so an MS or cramp patient who logged trouble
        breathing got no advice. Its row says "any" (CLINICAL.md (a), note 4 as corrected on 2026-12-04)."""
        e = ep(0, symptoms=frozenset({sign}))
        check(fired(diary(e, ep(0), who=who), "U9"), "U9", episodes=[e])

    def test_other_symptoms_do_not_fire(self) -> None:
        assert fired(diary(ep(0, symptoms=frozenset({"itching"})), who=sci("T10")), "U9") is None


class TestU10SpikeWithFever:
    """U10 is in the SCI profile (CLINICAL.md note 4: SCI adds U7-U10), not the MS one."""

    def test_stiffness_spike_with_fever_today_fires(self) -> None:
        d = diary(amend(nrs_spike(), 0, temperature_c=38.0), who=SPINAL)
        check(fired(d, "U10"), "U10", episodes=[], checkin_days=[day_ago(n) for n in range(31)])

    def test_fever_on_the_previous_day_fires(self) -> None:
        d = diary(amend(nrs_spike(), 1, symptoms=frozenset({"fever_or_chills"})), who=SPINAL)
        check(fired(d, "U10"), "U10", episodes=[], checkin_days=[day_ago(n) for n in range(31)])

    def test_fever_just_below_the_cut_off_does_not_fire(self) -> None:
        assert fired(diary(amend(nrs_spike(), 0, temperature_c=37.9), who=SPINAL), "U10") is None

    def test_fever_without_a_spike_does_not_fire(self) -> None:
        d = diary(amend(nrs_spike(recent=(5, 5, 4)), 0, temperature_c=39.0), who=SPINAL)
        assert fired(d, "U10") is None

    def test_count_spike_still_going_today_with_fever_today(self) -> None:
        """Regression (fixed): rules/urgent.py:192-193 (spike_with_fever) takes the fever window from max(spike_days), and
        spasticity_spike() returns the FIRST qualifying pair (days 2 and 1 ago). When the count is still doubled
        today, a fever today is on the same day as the spike but falls outside {yesterday, the day before}, so U10
        does not fire (S3 does). Expected: U10 fires, fever today being the same day as a spike day."""
        d = diary(count_spike({2: 2, 1: 2, 0: 2}), day(0, temperature_c=38.5), who=SPINAL)
        found = run(d)
        assert "S3" in found
        check(found.get("U10"), "U10", checkin_days=None)


# --- Soon -------------------------------------------------------------------------------------------------------------


class TestS1NewMedicationOnset:
    def test_first_ever_episode_within_30_days_of_a_new_medicine_fires(self) -> None:
        e = ep(0)
        f = check(fired(diary(e, plans=[plan("other", "Atorvastatin", 30)]), "S1"), "S1", episodes=[e])
        assert "known to cause cramps" in f.clinician_message

    def test_medicine_started_31_days_ago_does_not_fire(self) -> None:
        assert fired(diary(ep(0), plans=[plan("other", "Atorvastatin", 31)]), "S1") is None

    def test_not_the_first_episode_and_no_rise_does_not_fire(self) -> None:
        assert fired(diary(ep(12), ep(0), plans=[plan("muscle_relaxant", "Tizanidine", 10)]), "S1") is None

    def test_non_medicine_plan_does_not_fire(self) -> None:
        assert fired(diary(ep(0), plans=[plan("stretching", "Calf stretches", 5)]), "S1") is None

    def test_rate_exactly_one_and_a_half_times_baseline_fires(self) -> None:
        base = spread({d: 2 for d in range(7, 35)})  # 2 a day for the 28 days before the start
        after = spread({d: 3 for d in range(7)})  # 21 in the 7 days since: 3 a day = 1.5 x 2
        f = check(fired(diary(base, after, plans=[plan("other", "Amlodipine", 6)]), "S1"), "S1")
        assert f.episode_ids == ids(base + after)
        assert f.checkin_days == {day_ago(d) for d in range(7, 35)}

    def test_rate_just_below_one_and_a_half_times_baseline_does_not_fire(self) -> None:
        base = spread({d: 2 for d in range(7, 35)})
        after = spread({d: 3 for d in range(7)})[:-1]  # 20 in 7 days
        assert fired(diary(base, after, plans=[plan("other", "Amlodipine", 6)]), "S1") is None

    def test_ratio_needs_a_week_of_data(self) -> None:
        base = spread({d: 1 for d in range(6, 34)})
        after = spread({d: 5 for d in range(6)})  # 6 days since the start
        assert fired(diary(base, after, plans=[plan("other", "Amlodipine", 5)]), "S1") is None

    def test_first_ever_evidence_is_the_earliest_episode(self) -> None:
        """Regression (fixed): rules/soon.py:34 (new_medication_onset) gives after[:1] as the evidence of the "first-ever episode",
        i.e. whichever episode comes first in the diary tuple, not the earliest one. With entries in any other order
        than by start time the flag points at the wrong episode (the order-independence property shows the same)."""
        first, second = ep(5), ep(1)
        d = diary(second, first, plans=[plan("other", "Atorvastatin", 10)])
        check(fired(d, "S1"), "S1", episodes=[first])


def walking(days_ago: int, **fields: Any) -> Ep:
    fields.setdefault("duration_seconds", 300)
    return ep(days_ago, sites=LEG, triggers=frozenset({"walking"}), **fields)


class TestS2ExertionalCalfPain:
    def test_two_walking_leg_episodes_easing_within_five_minutes_fire(self) -> None:
        a, b = walking(13), walking(0)
        check(fired(diary(a, b), "S2"), "S2", episodes=[a, b])

    def test_one_is_not_enough(self) -> None:
        assert fired(diary(walking(0)), "S2") is None

    def test_older_than_14_days_does_not_count(self) -> None:
        assert fired(diary(walking(14), walking(0)), "S2") is None

    def test_easing_after_five_minutes_and_a_second_does_not_count(self) -> None:
        assert fired(diary(walking(3), walking(0, duration_seconds=301)), "S2") is None

    def test_rest_relief_within_five_minutes_counts_even_for_a_long_episode(self) -> None:
        a = walking(3, duration_seconds=1200, treatments=(("rest", 8, 5),))
        b = walking(0)
        check(fired(diary(a, b), "S2"), "S2", episodes=[a, b])
        late = walking(3, duration_seconds=1200, treatments=(("rest", 8, 6),))
        assert fired(diary(late, b), "S2") is None

    def test_other_trigger_or_site_does_not_count(self) -> None:
        exercise = ep(2, sites=LEG, triggers=frozenset({"exercise"}), duration_seconds=60)
        arm = ep(1, sites=(("forearm", "left"),), triggers=frozenset({"walking"}), duration_seconds=60)
        assert fired(diary(exercise, arm, walking(0)), "S2") is None


class TestS3SuddenSpasticityIncrease:
    def test_three_day_stiffness_mean_at_baseline_plus_two_fires(self) -> None:
        f = check(fired(diary(nrs_spike(3, (5, 5, 5)), who=MS), "S3"), "S3")
        assert f.checkin_days == {day_ago(d) for d in range(31)}

    def test_three_day_stiffness_mean_below_baseline_plus_two_does_not_fire(self) -> None:
        assert fired(diary(nrs_spike(3, (5, 5, 4)), who=MS), "S3") is None

    def test_needs_two_recent_stiffness_values(self) -> None:
        checkins = [c for c in nrs_spike(3, (9, 9, 9)) if c.day not in {day_ago(1), day_ago(2)}]
        assert fired(diary(checkins, days([1, 2]), who=MS), "S3") is None

    def test_nrs_rise_override(self) -> None:
        assert fired(diary(nrs_spike(3, (5, 5, 5)), who=MS), "S3", {"S3": {"nrs_rise": 3}}) is None

    def test_doubled_count_on_two_consecutive_days_fires(self) -> None:
        episodes = count_spike({2: 1, 1: 2, 0: 2})
        f = check(fired(diary(episodes, who=MS), "S3"), "S3")
        # The pair (yesterday, today) and its baseline, the 28 days before yesterday: day 30 ago is not evidence.
        assert f.episode_ids == ids(e for e in episodes if e.local_day != day_ago(30))
        assert f.checkin_days == {day_ago(d) for d in range(30)}
        assert {TODAY, day_ago(1)} <= f.checkin_days

    def test_doubled_count_on_one_day_only_does_not_fire(self) -> None:
        assert fired(diary(count_spike({2: 1, 1: 1, 0: 2}), who=MS), "S3") is None
        assert fired(diary(count_spike({2: 1, 1: 2, 0: 1}), who=MS), "S3") is None

    def test_baseline_below_one_a_day_does_not_fire(self) -> None:
        # Alternate logged days with one episode and with none: a median of 0.5 a day before either pair.
        base = spread({d: 1 for d in range(3, 31, 2)})
        quiet = days(range(2, 31, 2), no_episodes=True)
        assert fired(diary(base, quiet, spread({1: 3, 0: 3}), who=MS), "S3") is None

    def test_not_for_idiopathic_cramps(self) -> None:
        d = diary(nrs_spike(3, (9, 9, 9)), who=CRAMPS)
        assert "S3" not in evaluate(d).evaluated


def relapse_days(*days_ago: int, **fields: Any) -> list[Day]:
    return [day(d, new_or_worse_symptoms=True, **fields) for d in days_ago]


class TestS4PossibleMsRelapse:
    def test_two_consecutive_days_fire(self) -> None:
        check(fired(diary(relapse_days(1, 0), who=MS), "S4"), "S4", episodes=[], checkin_days=[day_ago(1), TODAY])

    def test_one_day_or_two_separate_days_do_not_fire(self) -> None:
        assert fired(diary(relapse_days(0), who=MS), "S4") is None
        assert fired(diary(relapse_days(2, 0), day(1), who=MS), "S4") is None

    def test_fever_at_the_cut_off_blocks_and_just_below_does_not(self) -> None:
        assert fired(diary(relapse_days(1), relapse_days(0, temperature_c=38.0), who=MS), "S4") is None
        check(fired(diary(relapse_days(1), relapse_days(0, temperature_c=37.9), who=MS), "S4"), "S4")
        chills = relapse_days(0, symptoms=frozenset({"fever_or_chills"}))
        assert fired(diary(relapse_days(1), chills, who=MS), "S4") is None

    def test_thirty_days_since_the_last_relapse(self) -> None:
        start = day_ago(1)
        at_30 = diary(relapse_days(1, 0), who=MS, last_relapse_on=start - dt.timedelta(days=30))
        at_29 = diary(relapse_days(1, 0), who=MS, last_relapse_on=start - dt.timedelta(days=29))
        check(fired(at_30, "S4"), "S4")
        assert fired(at_29, "S4") is None

    @pytest.mark.parametrize("who", [CRAMPS, CP, patient("stroke")])
    def test_not_for_other_conditions(self, who: Patient) -> None:
        d = diary(relapse_days(1, 0), who=who)
        assert "S4" not in evaluate(d).evaluated

    def test_not_for_spinal_cord_injury(self) -> None:
        """Regression (fixed): the brief and CLINICAL.md make S4 an MS rule (the NHS England MS relapse definition), and engine.py
        drops it for CP with the comment "S4 is an MS relapse rule"; but engine.py:23 builds _SCI = _MS | {...}, so a
        spinal cord injury patient (without MS) gets S4 and is told to contact their MS team."""
        d = diary(relapse_days(1, 0), who=sci("T10"))
        assert "S4" not in evaluate(d).evaluated
        assert fired(d, "S4") is None


BACLOFEN = "Baclofen 10 mg"


class TestS5BaclofenStopped:
    @pytest.mark.parametrize(("stopped", "fires"), [(0, True), (14, True), (15, False)])
    def test_stopped_without_a_clinician_within_two_weeks(self, stopped: int, fires: bool) -> None:
        d = diary(who=sci("T10"), plans=[plan("muscle_relaxant", BACLOFEN, 100, stopped_days_ago=stopped)])
        f = fired(d, "S5")
        if fires:
            check(f, "S5", episodes=[], checkin_days=[])
        else:
            assert f is None

    def test_stopped_by_the_clinician_does_not_fire(self) -> None:
        stop = plan("muscle_relaxant", BACLOFEN, 100, stopped_days_ago=3, by_clinician=True)
        assert fired(diary(who=sci("T10"), plans=[stop]), "S5") is None

    def test_two_days_in_a_row_with_no_doses_fire(self) -> None:
        d = diary(days([1, 0], meds_taken="none"), who=sci("T10"), plans=[plan("muscle_relaxant", BACLOFEN, 60)])
        check(fired(d, "S5"), "S5", episodes=[], checkin_days=[day_ago(1), TODAY])

    def test_one_missed_day_or_a_broken_run_does_not_fire(self) -> None:
        on = [plan("muscle_relaxant", BACLOFEN, 60)]
        assert fired(diary(day(0, meds_taken="none"), who=sci("T10"), plans=on), "S5") is None
        broken = [day(2, meds_taken="none"), day(1, meds_taken="all"), day(0, meds_taken="none")]
        assert fired(diary(broken, who=sci("T10"), plans=on), "S5") is None

    def test_other_medicine_does_not_fire(self) -> None:
        d = diary(days([1, 0], meds_taken="none"), who=sci("T10"), plans=[plan("muscle_relaxant", "Tizanidine", 60)])
        assert fired(d, "S5") is None


class TestS6TriggerUnresolved:
    def test_spike_seven_days_after_the_checklist_fires(self) -> None:
        spike = count_spike()
        d = diary(spike, who=MS, spike_checklist_done_on=day_ago(7))
        check(fired(d, "S6"), "S6", episodes=[e for e in spike if e.local_day != day_ago(30)])

    def test_six_days_after_the_checklist_does_not_fire(self) -> None:
        assert fired(diary(nrs_spike(), who=MS, spike_checklist_done_on=day_ago(6)), "S6") is None

    def test_no_checklist_or_no_spike_does_not_fire(self) -> None:
        assert fired(diary(nrs_spike(), who=MS), "S6") is None
        quiet = nrs_spike(recent=(4, 4, 4))
        assert fired(diary(quiet, who=MS, spike_checklist_done_on=day_ago(10)), "S6") is None


# --- Routine ----------------------------------------------------------------------------------------------------------


def two_weeks(first: int, second: int, **fields: Any) -> tuple[list[Ep], list[Ep]]:
    """``first`` episodes on days 8..12 ago and ``second`` on days 1..5 ago (one a day, round robin)."""
    older = [ep(8 + i % 5, dt.time(9, i), **fields) for i in range(first)]
    newer = [ep(1 + i % 5, dt.time(9, i), **fields) for i in range(second)]
    return older, newer


class TestR1FrequentEpisodes:
    def test_three_and_three_fires(self) -> None:
        older, newer = two_weeks(3, 3)
        f = check(fired(diary(older, newer, fill_week=True), "R1"), "R1", episodes=older + newer)
        assert (f.window_start, f.window_end) == (day_ago(13), TODAY)
        assert f.measures == {"week_1": 3, "week_2": 3}

    @pytest.mark.parametrize(("first", "second"), [(3, 2), (2, 3)])
    def test_one_week_short_does_not_fire(self, first: int, second: int) -> None:
        assert fired(diary(two_weeks(first, second), fill_week=True), "R1") is None

    def test_rolling_week_edges(self) -> None:
        # Day 13 ago is in the older week, day 14 ago is not; day 7 ago is in the older week, not the newer one.
        inside = [ep(13), ep(7), ep(10), ep(6), ep(0), ep(3)]
        check(fired(diary(inside, fill_week=True), "R1"), "R1", episodes=inside)
        assert fired(diary([ep(14), ep(7), ep(10), ep(6), ep(0), ep(3)], fill_week=True), "R1") is None
        assert fired(diary([ep(13), ep(7), ep(10), ep(7), ep(0), ep(3)], fill_week=True), "R1") is None

    def test_six_in_28_days_for_night_cramps(self) -> None:
        six = [ep(d, dt.time(3, 0), woke_from_sleep=True) for d in (0, 5, 9, 16, 20, 27)]
        check(fired(diary(six, fill_week=True, who=NIGHT), "R1"), "R1", episodes=six)
        assert fired(diary(six[:-1], fill_week=True, who=NIGHT), "R1") is None
        moved = [*six[:-1], ep(28, dt.time(3, 0))]
        assert fired(diary(moved, fill_week=True, who=NIGHT), "R1") is None
        assert fired(diary(six, fill_week=True, who=CRAMPS), "R1") is None

    def test_per_week_override_changes_the_outcome(self) -> None:
        d = diary(two_weeks(3, 3), fill_week=True)
        assert fired(d, "R1") is not None
        assert fired(d, "R1", {"R1": {"per_week": 5}}) is None
        older, newer = two_weeks(5, 5)
        check(fired(diary(older, newer, fill_week=True), "R1", {"R1": {"per_week": 5}}), "R1", episodes=older + newer)

    def test_unknown_override_keys_are_ignored(self) -> None:
        d = diary(two_weeks(3, 3), fill_week=True)
        plain = run(d)
        for overrides in ({"R1": {"bogus": 99}}, {"R99": {"per_week": 1}}, {"R1": {"per_weak": 9, "enabled": 0}}):
            found = run(d, overrides)
            assert found.keys() == plain.keys()
            assert found["R1"].episode_ids == plain["R1"].episode_ids


class TestR2SleepDisruption:
    def woke(self, *days_ago: int) -> list[Ep]:
        return [ep(d, dt.time(3, 0), woke_from_sleep=True) for d in days_ago]

    def test_two_nights_in_each_of_two_weeks_fire(self) -> None:
        e = self.woke(8, 10, 1, 3)
        check(fired(diary(e, ep(2, woke_from_sleep=False), fill_week=True), "R2"), "R2", episodes=e)

    def test_one_night_in_the_second_week_does_not_fire(self) -> None:
        assert fired(diary(self.woke(8, 10, 1), fill_week=True), "R2") is None

    def test_weekly_mean_sleep_disturbance_at_four_fires(self) -> None:
        f = check(fired(diary(days(range(14), sleep_disturbance=4)), "R2"), "R2", episodes=[])
        assert f.checkin_days == {day_ago(d) for d in range(14)}

    def test_weekly_mean_sleep_disturbance_below_four_does_not_fire(self) -> None:
        checkins = [*days(range(13), sleep_disturbance=4), day(13, sleep_disturbance=3)]
        assert fired(diary(checkins), "R2") is None

    def test_two_wakings_in_one_night_are_one_night(self) -> None:
        """Regression (fixed): CLINICAL.md R2 counts *nights* with >= 1 waking episode. rules/routine.py:54 (and
        measures.nights_disturbed) count local calendar days, so waking at 23:30 and again at 02:00 the same night is
        two nights; Patient.sleep_start/sleep_end (23:00-07:00) are never used. Here each week has ONE disturbed
        night, yet R2 fires."""
        e = [
            ep(11, dt.time(23, 30), woke_from_sleep=True),
            ep(10, dt.time(2, 0), woke_from_sleep=True),
            ep(4, dt.time(23, 30), woke_from_sleep=True),
            ep(3, dt.time(2, 0), woke_from_sleep=True),
        ]
        assert fired(diary(e, fill_week=True), "R2") is None


class TestR3SevereEpisodes:
    def test_two_at_seven_in_14_days_fire(self) -> None:
        a, b = ep(13, intensity=7), ep(0, intensity=7)
        check(fired(diary(a, b, ep(1, intensity=6)), "R3"), "R3", episodes=[a, b])

    def test_seven_and_six_do_not_fire(self) -> None:
        assert fired(diary(ep(3, intensity=7), ep(0, intensity=6)), "R3") is None

    def test_one_at_ten_fires_alone(self) -> None:
        e = ep(5, intensity=10)
        check(fired(diary(e, ep(1, intensity=6)), "R3"), "R3", episodes=[e])
        assert fired(diary(ep(5, intensity=9)), "R3") is None

    def test_older_than_14_days_does_not_count(self) -> None:
        assert fired(diary(ep(14, intensity=7), ep(0, intensity=7)), "R3") is None
        assert fired(diary(ep(14, intensity=10)), "R3") is None


def treated(days_ago: int, relief: int | None, kind: str = "stretching") -> Ep:
    return ep(days_ago, treatments=((kind, relief, None),))


class TestR4SelfCareIneffective:
    def test_three_of_four_with_relief_two_or_less_fire(self) -> None:
        e = [treated(1, 2), treated(2, 0), treated(3, 1), treated(4, 8)]
        check(fired(diary(e), "R4"), "R4", episodes=e)

    def test_two_of_four_do_not_fire(self) -> None:
        assert fired(diary(treated(1, 2), treated(2, 3), treated(3, 1), treated(4, 8)), "R4") is None

    def test_three_treated_episodes_are_not_enough(self) -> None:
        assert fired(diary(treated(1, 0), treated(2, 0), treated(3, 0)), "R4") is None

    def test_drug_treatments_and_missing_relief_do_not_count(self) -> None:
        e = [treated(1, 0), treated(2, 0), treated(3, 0), treated(4, 0, "muscle_relaxant"), treated(5, None)]
        assert fired(diary(e), "R4") is None

    def test_older_than_14_days_does_not_count(self) -> None:
        assert fired(diary(treated(14, 0), treated(2, 0), treated(3, 0), treated(4, 0)), "R4") is None


class TestR5PersistentPattern:
    def test_three_of_four_weeks_with_r1_now_fires(self) -> None:
        older, newer = two_weeks(3, 3)
        early = ep(24)
        f = check(fired(diary(older, newer, early, fill_week=True), "R5"), "R5", episodes=[*older, *newer, early])
        assert f.window_start == day_ago(27)

    def test_two_of_four_weeks_does_not_fire(self) -> None:
        assert fired(diary(two_weeks(3, 3), fill_week=True), "R5") is None

    def test_three_weeks_without_r1_or_r3_does_not_fire(self) -> None:
        assert fired(diary(ep(24), ep(17), ep(10), ep(3), fill_week=True), "R5") is None

    def test_three_weeks_with_an_r3_episode_fires(self) -> None:
        e = [ep(24), ep(17), ep(10, intensity=10)]
        check(fired(diary(e, fill_week=True), "R5"), "R5", episodes=e)

    def test_r1_that_fired_ten_days_ago(self) -> None:
        """Regression (fixed; CLINICAL.md R5: "R1 or R3 fired at least once in that period"): rules/routine.py:124 only replays R1
        and R3 as of today, 7 and 14 days ago. Here R1 fired as of 10 days ago (3 episodes on day 23 ago and 3 on
        day 10 ago, a complete diary then) and episodes fall in 3 of the last 4 weeks, but R5 does not fire."""
        e = [*eps(3, 23), *eps(3, 10), ep(2)]
        d = diary(e, days([16, 15, 14, 13]), fill_week=True)
        ten_days_ago = dataclasses.replace(d, now=NOW - dt.timedelta(days=10))
        assert "R1" in run(ten_days_ago)
        check(fired(d, "R5"), "R5")

    def test_night_cramp_evidence_is_enough_to_raise_it_again(self) -> None:
        """Regression (fixed; Diary.restricted_to: "a flag's evidence must be enough to raise it again"): for night cramps R5 replays
        R1's 28-day branch as of 14 days ago, which reaches back to day 41, but its evidence only holds the episodes
        of the last 4 weeks (rules/routine.py:130). Called directly, to keep the completeness guard out of it."""
        e = [*eps(5, 35), ep(20), ep(10), ep(2)]
        d = diary(e, fill_week=True, who=NIGHT)
        t = dict(RULES["R5"].defaults)
        f = check(routine.persistent_pattern(d, t), "R5")
        again = d.restricted_to(set(f.episode_ids), set(f.checkin_days))
        assert routine.persistent_pattern(again, t) is not None


class TestR6WorseningTrend:
    def nrs(self, base: int, recent: list[int]) -> list[Day]:
        values = {d: base for d in range(14, 42)}
        values.update(dict(enumerate(recent)))
        return stiffness(values)

    def test_stiffness_up_30_percent_and_two_points_fires(self) -> None:
        f = check(fired(diary(self.nrs(5, [7] * 14), who=MS), "R6"), "R6")
        assert f.measures == {"mean": 7.0, "baseline": 5.0}
        assert f.checkin_days == {day_ago(d) for d in range(42)}

    def test_stiffness_just_under_two_points_does_not_fire(self) -> None:
        assert fired(diary(self.nrs(5, [7] * 13 + [6]), who=MS), "R6") is None

    def test_two_points_but_under_30_percent_does_not_fire(self) -> None:
        assert fired(diary(self.nrs(7, [9] * 14), who=MS), "R6") is None
        check(fired(diary(self.nrs(7, [9] * 12 + [10, 10]), who=MS), "R6"), "R6")  # 9.14 >= 9.1

    def test_needs_seven_stiffness_values(self) -> None:
        values = self.nrs(3, [10] * 6)
        assert fired(diary(values, days(range(6, 14)), who=MS), "R6") is None

    def test_count_eight_against_none_fires(self) -> None:
        e = [ep(d) for d in range(8)]
        check(fired(diary(e, fill_week=True, who=MS), "R6"), "R6", episodes=e)

    def test_count_seven_is_under_the_minimum(self) -> None:
        assert fired(diary([ep(d) for d in range(7)], fill_week=True, who=MS), "R6") is None

    def test_count_ratio_one_and_a_half_fires_and_just_below_does_not(self) -> None:
        older = spread({28 + i % 28: 1 for i in range(28)}) + spread({28 + i: 1 for i in range(12)})  # 40
        newer = spread({d: 2 for d in range(28)}) + spread({d: 1 for d in range(4)})  # 60
        f = check(fired(diary(older, newer, who=MS), "R6"), "R6", episodes=older + newer)
        assert "60 vs 40" in f.clinician_message
        assert fired(diary(older, newer[:-1], who=MS), "R6") is None  # 59 vs 40: 1.475x

    def test_poisson_noise_guard(self) -> None:
        # 9 vs 6 is 1.5x with 9 >= 8, but p = 0.30.
        older, newer = [ep(30 + d) for d in range(6)], [ep(d) for d in range(9)]
        assert fired(diary(older, newer, who=MS), "R6") is None

    def test_not_for_idiopathic_cramps(self) -> None:
        assert "R6" not in evaluate(diary([ep(d) for d in range(8)], who=CRAMPS)).evaluated

    def test_mean_episode_intensity_branch(self) -> None:
        """Regression (fixed): CLINICAL.md R6 reads "14-day mean daily spasticity NRS (or mean episode intensity) >= baseline x 1.30
        and >= baseline + 2 points". worsening_trend() (rules/routine.py:146-178) only looks at the stiffness NRS of
        check-ins, so a patient who logs episodes but no stiffness never gets the intensity branch. Here: one episode
        a day for 8 weeks (so the count branch stays quiet), intensity 3 before and 7 over the last 14 days."""
        e = [ep(d, intensity=7 if d < 14 else 3) for d in range(56)]
        check(fired(diary(e, who=MS), "R6"), "R6")


class TestR7TreatmentTrialReview:
    @pytest.mark.parametrize(
        ("age", "fires"),
        [
            (27, False),
            (28, True),
            (34, True),
            (35, False),
            (117, False),
            (118, True),
            (124, True),
            (125, False),
            (208, True),
        ],
    )
    def test_day_28_then_every_90_days(self, age: int, fires: bool) -> None:
        d = diary(who=MS, plans=[plan("nutritional_correction", "Quinine sulfate", age)])
        f = fired(d, "R7")
        if fires:
            assert f is not None
            check(f, "R7", episodes=[], checkin_days=[])
            assert (f.window_start, f.window_end) == (day_ago(age), TODAY)
            assert f"day {age}" in f.clinician_message
        else:
            assert f is None

    def test_stopped_or_non_trial_plans_do_not_fire(self) -> None:
        stopped = plan("antispasmodic", "Baclofen", 28, stopped_days_ago=1)
        assert fired(diary(who=MS, plans=[stopped]), "R7") is None
        assert fired(diary(who=MS, plans=[plan("stretching", "Stretches", 28)]), "R7") is None

    def test_stiffness_improved_20_percent_is_a_response(self) -> None:
        before = stiffness({d: 10 for d in range(29, 43)})
        f = check(
            fired(
                diary(
                    before,
                    stiffness({d: 8 for d in range(14)}),
                    who=MS,
                    plans=[plan("antispasmodic", "Nabiximols", 28)],
                ),
                "R7",
            ),
            "R7",
        )
        assert "responder: stiffness 20% better" in f.clinician_message

    def test_stiffness_improved_10_percent_is_no_meaningful_response(self) -> None:
        before = stiffness({d: 10 for d in range(29, 43)})
        f = check(
            fired(
                diary(
                    before,
                    stiffness({d: 9 for d in range(14)}),
                    who=MS,
                    plans=[plan("antispasmodic", "Nabiximols", 28)],
                ),
                "R7",
            ),
            "R7",
        )
        assert "no meaningful response: stiffness 10% better (< 20%)" in f.clinician_message
        assert f.checkin_days == {day_ago(d) for d in [*range(29, 43), *range(14)]}

    def test_episode_rate_down_25_percent_is_a_response_and_0_percent_is_not(self) -> None:
        before = [ep(d) for d in (30, 33, 36, 40)]
        quinine = [plan("nutritional_correction", "Quinine", 28)]
        fell = check(fired(diary(before, [ep(d) for d in (1, 5, 9)], plans=quinine), "R7"), "R7")
        assert "responder: episode rate 25% better" in fell.clinician_message
        after = [ep(d) for d in (1, 5, 9, 12)]
        same = check(fired(diary(before, after, plans=quinine), "R7"), "R7", episodes=before + after)
        assert "no meaningful response: episode rate 0% better (< 25%)" in same.clinician_message


class TestR8WastingOrWeakness:
    def test_episode_or_check_in_in_14_days_fires(self) -> None:
        e = ep(13, symptoms=frozenset({"muscle_wasting"}))
        check(fired(diary(e), "R8"), "R8", episodes=[e])
        check(fired(diary(day(0, symptoms=frozenset({"muscle_wasting"}))), "R8"), "R8", checkin_days=[TODAY])

    def test_older_does_not_fire(self) -> None:
        assert fired(diary(ep(14, symptoms=frozenset({"muscle_wasting"}))), "R8") is None


class TestR9NoObviousCause:
    def pattern(self, unexplained: int, **explaining: Any) -> tuple[list[Ep], list[Ep]]:
        older, newer = two_weeks(3, 3)
        mixed = [*older, *newer]
        for i in range(unexplained, 6):
            mixed[i] = dataclasses.replace(mixed[i], **explaining)
        return mixed[:3], mixed[3:]

    def test_half_without_a_cause_fires(self) -> None:
        older, newer = self.pattern(3, triggers=frozenset({"exercise"}))
        check(fired(diary(older, newer, fill_week=True), "R9"), "R9", episodes=older + newer)

    def test_a_third_without_a_cause_does_not_fire(self) -> None:
        assert fired(diary(self.pattern(2, triggers=frozenset({"stress"})), fill_week=True), "R9") is None

    def test_none_known_is_no_cause_and_fluid_loss_is_one(self) -> None:
        d = diary(self.pattern(0, triggers=frozenset({"none_known"})), fill_week=True)
        check(fired(d, "R9"), "R9")
        assert fired(diary(self.pattern(2, context=frozenset({"fluid_loss"})), fill_week=True), "R9") is None

    def test_needs_r1(self) -> None:
        assert fired(diary(two_weeks(3, 2), fill_week=True), "R9") is None


class TestR10AdherenceGap:
    on = (plan("muscle_relaxant", "Tizanidine", 60),)

    def test_exactly_80_percent_does_not_fire(self) -> None:
        answers = [*days([0, 1, 2, 3], meds_taken="all"), day(4, meds_taken="none")]
        assert fired(diary(answers, plans=self.on), "R10") is None

    def test_79_percent_fires(self) -> None:
        answers = [*days(range(11), meds_taken="all"), *days([11, 12, 13], meds_taken="none")]
        f = check(fired(diary(answers, plans=self.on), "R10"), "R10", checkin_days=[day_ago(d) for d in range(14)])
        assert f.measures["adherence"] == pytest.approx(11 / 14)

    def test_some_counts_as_half(self) -> None:
        answers = [day(0, meds_taken="all"), *days([1, 2, 3], meds_taken="some")]  # 62.5 %
        check(fired(diary(answers, plans=self.on), "R10"), "R10")

    def test_needs_four_answers_in_14_days(self) -> None:
        assert fired(diary(days([0, 1, 2], meds_taken="none"), plans=self.on), "R10") is None
        assert fired(diary(days([0, 1, 2, 14], meds_taken="none"), plans=self.on), "R10") is None
        no_meds = days([0, 1, 2, 3], meds_taken="no_regular_medicines")
        assert fired(diary(no_meds, plans=self.on), "R10") is None

    def test_needs_a_current_regular_medicine(self) -> None:
        answers = days(range(5), meds_taken="none")
        assert fired(diary(answers), "R10") is None
        assert (
            fired(diary(answers, plans=[plan("muscle_relaxant", "Tizanidine", 60, stopped_days_ago=1)]), "R10") is None
        )
        assert fired(diary(answers, plans=[plan("stretching", "Stretches", 60)]), "R10") is None


class TestR11DataGap:
    def test_three_of_seven_days_fires(self) -> None:
        e = ep(0)
        f = check(fired(diary(e, day(3), day(6, no_episodes=True), day(7)), "R11"), "R11", episodes=[e])
        assert f.checkin_days == {day_ago(3), day_ago(6)}
        assert (f.window_start, f.window_end) == (day_ago(6), TODAY)
        assert f.measures == {"days_logged": 3}

    def test_four_of_seven_days_does_not_fire(self) -> None:
        assert fired(diary(ep(0), ep(1), day(3), day(6, no_episodes=True)), "R11") is None

    def test_recently_enrolled_patient_has_no_gap(self) -> None:
        who = dataclasses.replace(CRAMPS, enrolled_on=day_ago(5))
        assert fired(diary(ep(0), who=who), "R11") is None
        check(fired(diary(ep(0), who=dataclasses.replace(CRAMPS, enrolled_on=day_ago(6))), "R11"), "R11")

    def test_min_days_override(self) -> None:
        d = diary(ep(0), ep(1), day(3), day(6))
        assert fired(d, "R11") is None
        check(fired(d, "R11", {"R11": {"min_days": 5}}), "R11")


# --- The data-gap guard -----------------------------------------------------------------------------------------------


GUARDED = {"R1", "R2", "R5", "R6", "S3"}


def heavy(logged_quiet_days: list[int]) -> Diary:
    """An MS diary that raises R1, R2, R5, R6 and S3: one episode a day on days 7..27 (woken on 8 and 10) and three
    a night on days 1 and 0, plus bare check-ins on ``logged_quiet_days``."""
    base = [ep(d, dt.time(3, 0), woke_from_sleep=d in (8, 10)) for d in range(7, 28)]
    recent = [e for d in (1, 0) for e in eps(3, d, woke_from_sleep=True)]
    return diary(base, recent, days(logged_quiet_days), who=MS)


class TestDataGapGuard:
    def test_four_logged_days_let_the_frequency_rules_run(self) -> None:
        result = evaluate(heavy([2, 3]))
        found = {f.rule_id for f in result.findings}
        assert found >= GUARDED
        assert "R11" not in found
        assert result.suppressed == []

    def test_three_logged_days_silence_them_and_raise_r11(self) -> None:
        result = evaluate(heavy([2]))
        found = {f.rule_id: f for f in result.findings}
        assert not found.keys() & GUARDED
        assert set(result.suppressed) >= GUARDED | {"S6", "R9"}
        assert not set(result.suppressed) & set(result.evaluated)
        check(found.get("R11"), "R11", checkin_days=[day_ago(2)])

    def test_an_explicit_no_episodes_day_counts(self) -> None:
        d = diary(ep(0), ep(1), ep(2), day(5, no_episodes=True), fill_week=False)
        assert "R1" in evaluate(d).evaluated
        d3 = diary(ep(0), ep(1), ep(2), day(7, no_episodes=True))
        assert "R1" in evaluate(d3).suppressed

    def test_rules_without_the_guard_still_run(self) -> None:
        d = heavy([2])
        d = dataclasses.replace(d, episodes=(*d.episodes, ep(0, intensity=10, duration_seconds=900)))
        found = run(d)
        assert {"U1", "R3"} <= found.keys()


# --- Condition profiles -----------------------------------------------------------------------------------------------


def rule_ids(who: Patient) -> set[str]:
    return {r.id for r in rules_for(diary(who=who))}


class TestProfiles:
    """CLINICAL.md (a), note 4 as corrected on 2026-12-04: the "any" rules run for every condition; profiles add."""

    ANY = {"U1", "U2", "U3", "U4", "U5", "U6", "U9", "R8"}

    def test_idiopathic_cramps(self) -> None:
        got = rule_ids(CRAMPS)
        assert got == self.ANY | {"S1", "S2", "R1", "R2", "R3", "R4", "R5", "R7", "R9", "R10", "R11"}
        assert not got & {"U7", "U8", "U10", "S3", "S4", "S5", "S6", "R6"}

    @pytest.mark.parametrize("who", [CRAMPS, NIGHT, MS, sci("T10"), sci("C5"), CP, patient("stroke"), patient()])
    def test_every_profile_runs_the_any_rules(self, who: Patient) -> None:
        assert rule_ids(who) >= self.ANY

    def test_stroke_is_ms_without_s4_plus_u10_and_s5(self) -> None:
        assert rule_ids(patient("stroke")) == (rule_ids(MS) - {"S4"}) | {"U10", "S5"}

    def test_ms_adds_s3_s4_s6_r6(self) -> None:
        assert rule_ids(MS) - rule_ids(CRAMPS) == {"S3", "S4", "S6", "R6"}

    def test_sci_adds_u7_u8_u10_and_s5(self) -> None:
        assert rule_ids(sci()) - rule_ids(MS) == {"U7", "U8", "U10", "S5"}

    def test_cp_has_no_u8_unless_enabled(self) -> None:
        assert "U8" not in rule_ids(CP)
        assert "U8" in rule_ids(dataclasses.replace(CP, enabled_rules=frozenset({"U8"})))
        assert "S4" not in rule_ids(CP)

    def test_unknown_enabled_rules_are_ignored(self) -> None:
        assert rule_ids(dataclasses.replace(CRAMPS, enabled_rules=frozenset({"X1"}))) == rule_ids(CRAMPS)

    def test_no_conditions_is_the_cramp_profile(self) -> None:
        assert rule_ids(patient()) == rule_ids(CRAMPS)

    def test_rules_are_ordered_by_urgency(self) -> None:
        order = [r.urgency for r in rules_for(diary(who=sci()))]
        assert order == sorted(order, key=["urgent", "soon", "routine"].index)


# --- Daylight saving in the patient's time zone -------------------------------------------------------------------------


MADRID = patient("idiopathic_cramps", time_zone="Europe/Madrid")


def madrid(day: int, hour: int, minute: int = 30, *, month: int = 10) -> Ep:
    """An episode at local wall-clock time in Madrid in October 2026, with the offset the phone would record:
    CEST (+120) before 03:00 on 25 October, CET (+60) after."""
    local = dt.datetime(2026, month, day, hour, minute)
    offset = 120 if local < dt.datetime(2026, 10, 25, 2, 0) else 60
    return ep_at((local - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC), offset=offset)


class TestDaylightSaving:
    # 23:45 CET on Saturday 31 October 2026: 22:45 UTC, the same calendar day in UTC.
    now = dt.datetime(2026, 10, 31, 22, 45, tzinfo=dt.UTC)

    def test_local_days_on_each_side_of_the_change(self) -> None:
        before, after = madrid(24, 23), madrid(25, 23)
        assert before.offset_minutes == 120 and after.offset_minutes == 60
        assert before.local_day == dt.date(2026, 10, 24)
        assert after.local_day == dt.date(2026, 10, 25)
        # Just after midnight local is still the previous day in UTC.
        early = madrid(25, 0)
        assert early.start.date() == dt.date(2026, 10, 24) and early.local_day == dt.date(2026, 10, 25)

    def test_today_is_the_patient_local_date(self) -> None:
        d = diary(who=MADRID, now=dt.datetime(2026, 10, 24, 22, 30, tzinfo=dt.UTC))
        assert d.today == dt.date(2026, 10, 25)
        d = diary(who=MADRID, now=dt.datetime(2026, 10, 25, 22, 30, tzinfo=dt.UTC))
        assert d.today == dt.date(2026, 10, 25)

    def entries(self) -> dict[str, Ep]:
        return {
            "g": madrid(20, 12),
            "e": madrid(18, 0),  # 22:30 UTC on the 17th, local day 18: in the older week
            "f": madrid(17, 23),  # before the older week
            "a": madrid(24, 23),  # last evening of summer time: older week
            "b": madrid(25, 0),  # 22:30 UTC on the 24th, local day 25: newer week
            "c": madrid(25, 23),  # first evening of winter time: newer week
            "d": madrid(31, 23),  # today, 23:30 CET
        }

    def test_a_seven_day_rule_over_the_change_counts_the_right_episodes(self) -> None:
        e = self.entries()
        logged = [Day(d) for d in (dt.date(2026, 10, 27), dt.date(2026, 10, 28), dt.date(2026, 10, 29))]
        d = diary(list(e.values()), logged, who=MADRID, now=self.now)
        assert d.today == dt.date(2026, 10, 31)
        f = check(fired(d, "R1"), "R1")
        assert f.episode_ids == {e[k].id for k in "abcdeg"}
        assert f.measures == {"week_1": 3, "week_2": 3}
        assert (f.window_start, f.window_end) == (dt.date(2026, 10, 18), dt.date(2026, 10, 31))

    def test_bucketing_by_utc_day_would_not_fire(self) -> None:
        # The same diary with every offset dropped (the UTC calendar) has 3 and 2: the offsets matter.
        e = self.entries()
        utc = [dataclasses.replace(x, offset_minutes=0) for x in e.values()]
        logged = [Day(d) for d in (dt.date(2026, 10, 27), dt.date(2026, 10, 28), dt.date(2026, 10, 29))]
        assert fired(diary(utc, logged, who=MADRID, now=self.now), "R1") is None
