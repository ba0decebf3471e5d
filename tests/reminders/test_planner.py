"""The reminder planner (backend/reminders/planner.py): pure functions over plain data, no database.

Wall-clock times are planned in the patient's own time zone: a daily 08:00 stays at 08:00 across a daylight-saving
change, a time that does not exist that day moves forward by the gap, and a time that happens twice happens once,
the first time (RFC 5545 section 3.3.5).
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from backend.reminders import planner
from backend.reminders.planner import AppointmentFact, FlagFact, Planned, Preferences, RegimenFact

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# Zones with daylight saving in either hemisphere, half-hour and 45-minute offsets, a 30-minute DST shift
# (Lord Howe), changes at midnight (Havana, Santiago), and no change at all.
ZONES = [
    "UTC",
    "Europe/Madrid",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Auckland",
]


def words(text: str) -> str:
    return text


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_plan(
    now: dt.datetime,
    zone: ZoneInfo = MADRID,
    prefs: Preferences | None = None,
    appointments: list[AppointmentFact] | None = None,
    regimens: list[RegimenFact] | None = None,
    flags: list[FlagFact] | None = None,
) -> list[Planned]:
    return planner.plan(now, zone, prefs or Preferences(), appointments or [], regimens or [], flags or [], words)


def regimen(
    kind: str = "muscle_relaxant",
    times: tuple[str, ...] = (),
    start: dt.date = dt.date(2026, 1, 1),
    stop: dt.date | None = None,
    rid: str = "reg-1",
) -> RegimenFact:
    return RegimenFact(rid, kind, "Baclofen", "10 mg", times, start, stop)


def of_kind(plan: list[Planned], kind: str) -> list[Planned]:
    return sorted((p for p in plan if p.kind == kind), key=lambda p: p.due_at)


# ---- daylight saving -------------------------------------------------------------------------------------------------


def test_a_daily_0800_stays_at_0800_through_the_madrid_spring_change() -> None:
    start = at(MADRID, 2026, 3, 26)  # Thursday; clocks go 02:00 -> 03:00 on Sunday 29 March
    moments = planner.daily(dt.time(8, 0), MADRID, start, start + 7 * DAY)
    assert len(moments) == 7
    assert [m.astimezone(MADRID).date() for m in moments] == [dt.date(2026, 3, 26) + i * DAY for i in range(7)]
    assert all(m.astimezone(MADRID).time() == dt.time(8, 0) for m in moments)
    assert moments[:3] == [utc(2026, 3, d, 7) for d in (26, 27, 28)]
    assert moments[3:] == [utc(2026, 3, 29, 6), utc(2026, 3, 30, 6), utc(2026, 3, 31, 6), utc(2026, 4, 1, 6)]
    assert all(m.utcoffset() == dt.timedelta(0) for m in moments)


def test_a_daily_0800_stays_at_0800_through_the_madrid_autumn_change() -> None:
    start = at(MADRID, 2026, 10, 22)  # clocks go 03:00 -> 02:00 on Sunday 25 October
    moments = planner.daily(dt.time(8, 0), MADRID, start, start + 7 * DAY)
    assert len(moments) == 7
    assert len({m.astimezone(MADRID).date() for m in moments}) == 7
    assert all(m.astimezone(MADRID).time() == dt.time(8, 0) for m in moments)
    assert moments[:3] == [utc(2026, 10, d, 6) for d in (22, 23, 24)]
    assert moments[3:] == [utc(2026, 10, d, 7) for d in (25, 26, 27, 28)]


def test_a_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    moments = planner.daily(dt.time(2, 30), MADRID, at(MADRID, 2026, 3, 28), at(MADRID, 2026, 3, 31))
    assert moments == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    # 02:30 does not exist on the 29th: 03:30 local, the same instant as 02:30 at the winter offset
    assert moments[1].astimezone(MADRID).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 30)
    assert [m.astimezone(MADRID).time() for m in moments] == [dt.time(2, 30), dt.time(3, 30), dt.time(2, 30)]


def test_a_time_that_happens_twice_in_autumn_happens_once_the_first_time() -> None:
    moments = planner.daily(dt.time(2, 30), MADRID, at(MADRID, 2026, 10, 24), at(MADRID, 2026, 10, 27))
    assert moments == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert moments[1].astimezone(MADRID).fold == 0
    assert moments[1].astimezone(MADRID).utcoffset() == 2 * H  # still summer time: the first 02:30


def test_the_plan_keeps_the_daily_nudge_on_the_wall_clock_across_the_change() -> None:
    now = utc(2026, 3, 27, 12)
    found = of_kind(make_plan(now, prefs=Preferences(daily_log_at=dt.time(8, 0))), "daily_log")
    assert [(p.key, p.due_at) for p in found] == [
        ("daily:2026-03-28", utc(2026, 3, 28, 7)),
        ("daily:2026-03-29", utc(2026, 3, 29, 6)),
    ]
    gap = of_kind(make_plan(now, prefs=Preferences(daily_log_at=dt.time(2, 30))), "daily_log")
    assert [(p.key, p.due_at) for p in gap] == [
        ("daily:2026-03-28", utc(2026, 3, 28, 1, 30)),
        ("daily:2026-03-29", utc(2026, 3, 29, 1, 30)),
    ]
    twice = of_kind(make_plan(utc(2026, 10, 24, 12), prefs=Preferences(daily_log_at=dt.time(2, 30))), "daily_log")
    assert [(p.key, p.due_at) for p in twice] == [
        ("daily:2026-10-25", utc(2026, 10, 25, 0, 30)),
        ("daily:2026-10-26", utc(2026, 10, 26, 1, 30)),
    ]


def test_new_york_spring_and_autumn_changes() -> None:
    spring = planner.daily(dt.time(8, 0), NEW_YORK, at(NEW_YORK, 2026, 3, 5), at(NEW_YORK, 2026, 3, 12))
    assert len(spring) == 7 and all(m.astimezone(NEW_YORK).time() == dt.time(8, 0) for m in spring)
    assert spring[:3] == [utc(2026, 3, d, 13) for d in (5, 6, 7)]
    assert spring[3:] == [utc(2026, 3, d, 12) for d in (8, 9, 10, 11)]
    autumn = planner.daily(dt.time(8, 0), NEW_YORK, at(NEW_YORK, 2026, 10, 29), at(NEW_YORK, 2026, 11, 5))
    assert len(autumn) == 7 and all(m.astimezone(NEW_YORK).time() == dt.time(8, 0) for m in autumn)
    assert autumn[:3] == [utc(2026, 10, 29, 12), utc(2026, 10, 30, 12), utc(2026, 10, 31, 12)]
    assert autumn[3:] == [utc(2026, 11, d, 13) for d in (1, 2, 3, 4)]
    # 02:30 on 8 March does not exist: 03:30 EDT; 01:30 on 1 November happens twice: the first, EDT
    gap = planner.daily(dt.time(2, 30), NEW_YORK, at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9))
    assert gap == [utc(2026, 3, 8, 7, 30)]
    assert gap[0].astimezone(NEW_YORK).time() == dt.time(3, 30)
    twice = planner.daily(dt.time(1, 30), NEW_YORK, at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2))
    assert twice == [utc(2026, 11, 1, 5, 30)]
    plan = of_kind(make_plan(utc(2026, 3, 7, 18), NEW_YORK, Preferences(daily_log_at=dt.time(2, 30))), "daily_log")
    assert [(p.key, p.due_at) for p in plan] == [
        ("daily:2026-03-08", utc(2026, 3, 8, 7, 30)),
        ("daily:2026-03-09", utc(2026, 3, 9, 6, 30)),
    ]


def test_a_gap_across_midnight_keeps_one_nudge_per_planned_day() -> None:
    """Nuuk springs forward from 23:00 to 00:00 (2026-03-28/29): Saturday's 23:30 does not exist and moves to 00:30 on
    Sunday. Saturday's nudge and Sunday's own 23:30 nudge are two reminders and must have two keys; with the same key
    (``daily:2026-03-29``) the insert keeps one of them and the other is silently lost."""
    nuuk = ZoneInfo("America/Nuuk")
    assert planner.local_instant(dt.date(2026, 3, 28), dt.time(23, 30), nuuk) == utc(2026, 3, 29, 1, 30)
    found = of_kind(make_plan(utc(2026, 3, 28, 12), nuuk, Preferences(daily_log_at=dt.time(23, 30))), "daily_log")
    assert [p.due_at for p in found] == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    keys = [p.key for p in found]
    assert len(set(keys)) == len(keys), f"two nudges share a key: {keys}"


# ---- properties of daily() -------------------------------------------------------------------------------------------


def expected_instant(day: dt.date, wanted: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The oracle: a local time read with fold=0 takes the offset in force before a transition, which is RFC 5545's
    rule for both a gap (it lands after the gap, later by its size) and a repeated hour (the first occurrence)."""
    return dt.datetime.combine(day, wanted, zone).astimezone(UTC)


def exists(day: dt.date, wanted: dt.time, zone: ZoneInfo) -> bool:
    naive = dt.datetime.combine(day, wanted)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@given(
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2037, 12, 31), timezones=st.just(UTC)),
    span_hours=st.integers(min_value=0, max_value=24 * 12),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.integers(min_value=0, max_value=59),
)
def test_daily_gives_one_wall_clock_moment_per_local_day(
    zone_name: str, start: dt.datetime, span_hours: int, hour: int, minute: int
) -> None:
    zone = ZoneInfo(zone_name)
    wanted = dt.time(hour, minute)
    end = start + dt.timedelta(hours=span_hours)
    moments = planner.daily(wanted, zone, start, end)

    assert all(m.tzinfo is not None for m in moments)
    assert all(a < b for a, b in itertools.pairwise(moments)), "strictly increasing"
    assert all(start <= m < end for m in moments), "inside [start, end)"
    local_days = [m.astimezone(zone).date() for m in moments]
    assert len(local_days) == len(set(local_days)), "at most one per local date"
    for m in moments:
        local = m.astimezone(zone)
        if local.time() == wanted:
            continue
        # only a time that does not exist that day moves, and then by the size of the gap
        day = local.date()
        assert not exists(day, wanted, zone), (m, local)
        naive = dt.datetime.combine(day, wanted)
        gap = naive.replace(tzinfo=zone, fold=1).utcoffset() - naive.replace(tzinfo=zone, fold=0).utcoffset()  # type: ignore[operator]
        assert local.replace(tzinfo=None) - naive == gap, (m, local, gap)

    # and none is missing: every local day whose moment falls in [start, end) has it
    first, last = start.astimezone(zone).date() - DAY, end.astimezone(zone).date() + DAY
    days = [first + i * DAY for i in range((last - first).days + 1)]
    wanted_moments = sorted({e for e in (expected_instant(d, wanted, zone) for d in days) if start <= e < end})
    assert moments == wanted_moments


@given(
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2037, 12, 31), timezones=st.just(UTC)),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
)
def test_a_week_of_daily_moments_has_seven(zone_name: str, start: dt.datetime, hour: int, minute: int) -> None:
    zone = ZoneInfo(zone_name)
    local_midnight = dt.datetime.combine(start.astimezone(zone).date(), dt.time(), zone)
    week_start = local_midnight.astimezone(UTC)
    week_end = dt.datetime.combine(start.astimezone(zone).date() + 7 * DAY, dt.time(), zone).astimezone(UTC)
    moments = planner.daily(dt.time(hour, minute), zone, week_start, week_end)
    # one per local day; a day whose time falls in a gap still has it (later), except at the very edges
    assert 6 <= len(moments) <= 7
    if all(exists(local_midnight.date() + i * DAY, dt.time(hour, minute), zone) for i in range(-1, 8)):
        assert len(moments) == 7


# ---- quiet hours -----------------------------------------------------------------------------------------------------

QUIET = Preferences(quiet_start=dt.time(22, 0), quiet_end=dt.time(7, 0))


def test_quiet_hours_move_a_reminder_to_their_end() -> None:
    late = at(MADRID, 2026, 6, 10, 23, 30)
    assert planner.out_of_quiet_hours(late, MADRID, QUIET) == at(MADRID, 2026, 6, 11, 7, 0)
    early = at(MADRID, 2026, 6, 10, 6, 0)
    assert planner.out_of_quiet_hours(early, MADRID, QUIET) == at(MADRID, 2026, 6, 10, 7, 0)
    noon = at(MADRID, 2026, 6, 10, 12, 0)
    assert planner.out_of_quiet_hours(noon, MADRID, QUIET) == noon
    assert planner.out_of_quiet_hours(at(MADRID, 2026, 6, 10, 22, 0), MADRID, QUIET) == at(MADRID, 2026, 6, 11, 7)
    assert planner.out_of_quiet_hours(at(MADRID, 2026, 6, 10, 7, 0), MADRID, QUIET) == at(MADRID, 2026, 6, 10, 7)
    # the end is a wall-clock time of the next local day, across a daylight-saving change too
    saturday = at(MADRID, 2026, 3, 28, 23, 30)
    assert planner.out_of_quiet_hours(saturday, MADRID, QUIET) == utc(2026, 3, 29, 5, 0)
    # a window within one day, and no window at all
    lunch = Preferences(quiet_start=dt.time(13, 0), quiet_end=dt.time(15, 0))
    assert planner.out_of_quiet_hours(at(MADRID, 2026, 6, 10, 14), MADRID, lunch) == at(MADRID, 2026, 6, 10, 15)
    assert planner.out_of_quiet_hours(late, MADRID, Preferences()) == late


def test_the_plan_moves_nudges_out_of_quiet_hours_but_never_a_follow_up() -> None:
    now = at(MADRID, 2026, 6, 10, 12, 0)
    prefs = Preferences(daily_log_at=dt.time(23, 30), quiet_start=dt.time(22, 0), quiet_end=dt.time(7, 0))
    appointments = [
        AppointmentFact("appt-1", at(MADRID, 2026, 6, 11, 8, 0)),  # two hours before: 06:00, quiet
        AppointmentFact("appt-2", at(MADRID, 2026, 6, 12, 23, 30)),
    ]  # day before: 23:30, quiet
    found = make_plan(now, prefs=prefs, appointments=appointments)
    daily = of_kind(found, "daily_log")
    assert [(p.key, p.due_at) for p in daily] == [
        ("daily:2026-06-10", at(MADRID, 2026, 6, 11, 7, 0)),
        ("daily:2026-06-11", at(MADRID, 2026, 6, 12, 7, 0)),
    ]
    assert {p.key: p.due_at for p in of_kind(found, "follow_up")} == {
        "appointment:appt-1:two-hours": at(MADRID, 2026, 6, 11, 6, 0),
        "appointment:appt-2:day-before": at(MADRID, 2026, 6, 11, 23, 30),
    }
    # the preparation nudge is not a follow-up: it waits for the end of quiet hours (23:30 on the 10th -> 07:00)
    assert {p.key: p.due_at for p in of_kind(found, "prepare_summary")} == {
        "appointment:appt-2:prepare": at(MADRID, 2026, 6, 11, 7, 0),
    }


def test_a_reminder_moved_by_quiet_hours_is_still_planned_after_its_wall_clock_time() -> None:
    """A 23:30 nudge waits for 07:00. Planning again at 23:45 (the dispatcher plans every 10 minutes) must still name
    it, or services.plan_patient sees a pending reminder that is no longer wanted and cancels it."""
    prefs = Preferences(daily_log_at=dt.time(23, 30), quiet_start=dt.time(22, 0), quiet_end=dt.time(7, 0))
    before = make_plan(at(MADRID, 2026, 6, 10, 12, 0), prefs=prefs)
    assert ("daily:2026-06-10", at(MADRID, 2026, 6, 11, 7, 0)) in [(p.key, p.due_at) for p in before]
    after = make_plan(at(MADRID, 2026, 6, 10, 23, 45), prefs=prefs)
    assert ("daily:2026-06-10", at(MADRID, 2026, 6, 11, 7, 0)) in [(p.key, p.due_at) for p in after]


# ---- medicines -------------------------------------------------------------------------------------------------------


def test_medicine_times_give_one_reminder_per_time_per_day() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    found = of_kind(make_plan(now, regimens=[regimen(times=("08:00", "20:00"))]), "medicine")
    assert [p.due_at for p in found] == [
        at(MADRID, 2026, 6, 10, 20),
        at(MADRID, 2026, 6, 11, 8),
        at(MADRID, 2026, 6, 11, 20),
        at(MADRID, 2026, 6, 12, 8),
    ]
    assert all(p.subject_id == "reg-1" and p.link == "/plan" for p in found)
    assert "Baclofen 10 mg" in found[0].body and "20:00" in found[0].body
    assert [p.title for p in found[:2]] == ["Baclofen 10 mg at 20:00", "Baclofen 10 mg at 08:00"]  # names the dose
    assert len({p.key for p in found}) == 4
    assert all(now <= p.due_at < now + planner.HORIZON for p in found)


def test_no_medicine_reminder_before_the_start_date() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    found = of_kind(
        make_plan(now, regimens=[regimen(times=("08:00", "20:00"), start=dt.date(2026, 6, 11))]), "medicine"
    )
    assert [p.due_at for p in found] == [
        at(MADRID, 2026, 6, 11, 8),
        at(MADRID, 2026, 6, 11, 20),
        at(MADRID, 2026, 6, 12, 8),
    ]
    later = make_plan(now, regimens=[regimen(times=("08:00",), start=dt.date(2026, 6, 20))])
    assert of_kind(later, "medicine") == []


def test_no_medicine_reminder_after_the_stop_date() -> None:
    """A treatment that stops on the 11th gets no reminder on the 12th (planner.py only checks the stop date against
    today, then plans the whole 48 hours)."""
    now = at(MADRID, 2026, 6, 10, 9, 0)
    stopped_today = make_plan(now, regimens=[regimen(times=("08:00", "20:00"), stop=dt.date(2026, 6, 10))])
    assert of_kind(stopped_today, "medicine") == []
    stops_tomorrow = make_plan(now, regimens=[regimen(times=("08:00", "20:00"), stop=dt.date(2026, 6, 11))])
    days = [p.due_at.astimezone(MADRID).date() for p in of_kind(stops_tomorrow, "medicine")]
    assert days, "it is still taken today"
    assert all(day <= dt.date(2026, 6, 11) for day in days), f"reminders after the stop date: {days}"


def test_no_medicine_reminders_when_the_patient_turned_them_off() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    found = make_plan(now, prefs=Preferences(medicines=False), regimens=[regimen(times=("08:00", "20:00"))])
    assert of_kind(found, "medicine") == []
    assert of_kind(make_plan(now, regimens=[regimen(times=())]), "medicine") == []


def test_medicine_reminders_move_out_of_quiet_hours() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    found = of_kind(make_plan(now, prefs=QUIET, regimens=[regimen(times=("06:30",))]), "medicine")
    assert [p.due_at for p in found] == [at(MADRID, 2026, 6, 11, 7), at(MADRID, 2026, 6, 12, 7)]


# ---- treatment reviews (CLINICAL.md R7) ------------------------------------------------------------------------------


def reviews(
    now: dt.datetime, started_days_ago: int, kind: str = "antispasmodic", stop: dt.date | None = None
) -> list[Planned]:
    today = now.astimezone(MADRID).date()
    r = regimen(kind=kind, start=today - dt.timedelta(days=started_days_ago), stop=stop)
    return of_kind(make_plan(now, regimens=[r]), "treatment_review")


def test_a_treatment_is_reviewed_on_day_28_then_every_90_days() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    for days_ago in (28, 118, 208, 298):
        found = reviews(now, days_ago)
        assert [(p.key, p.due_at) for p in found] == [("regimen:reg-1:review:2026-06-10", at(MADRID, 2026, 6, 10, 10))]
        assert found[0].link == "/trends" and found[0].subject_id == "reg-1"
    for days_ago in (27, 117, 207):  # tomorrow is the review day
        assert [p.key for p in reviews(now, days_ago)] == ["regimen:reg-1:review:2026-06-11"]
    for days_ago in (0, 10, 25, 29, 30, 60, 100, 119, 150, 209):  # no review day within 48 hours
        assert reviews(now, days_ago) == [], days_ago
    # 26 days ago: day 28 is the day after tomorrow, 10:00 (08:00Z); within 48 hours of 11:00 today, not of 09:00
    assert reviews(now, 26) == []
    assert [p.key for p in reviews(at(MADRID, 2026, 6, 10, 11), 26)] == ["regimen:reg-1:review:2026-06-12"]


def test_a_review_due_earlier_today_is_planned_now() -> None:
    now = at(MADRID, 2026, 6, 10, 15, 0)
    found = reviews(now, 28)
    assert [(p.key, p.due_at) for p in found] == [("regimen:reg-1:review:2026-06-10", now)]


def test_only_treatments_that_need_review_get_one() -> None:
    now = at(MADRID, 2026, 6, 10, 9, 0)
    for kind in ("muscle_relaxant", "antispasmodic", "botulinum_toxin", "nutritional_correction", "physiotherapy"):
        assert len(reviews(now, 28, kind=kind)) == 1, kind
    for kind in ("heat", "cold", "rest", "stretching", "occupational_therapy", "surgery", "other"):
        assert reviews(now, 28, kind=kind) == [], kind
    assert reviews(now, 28, stop=dt.date(2026, 6, 1)) == []


# ---- follow-up appointments and flag nudges --------------------------------------------------------------------------


def appointment_reminders(now: dt.datetime, starts_at: dt.datetime) -> dict[str, dt.datetime]:
    found = make_plan(now, appointments=[AppointmentFact("appt-1", starts_at)])
    assert all(p.subject_id == "appt-1" for p in found)
    return {p.key.removeprefix("appointment:appt-1:"): p.due_at for p in found}


def test_an_appointment_gives_day_before_two_hours_and_prepare_reminders() -> None:
    now = utc(2026, 6, 10, 9)
    starts = now + 47 * H
    assert appointment_reminders(now, starts) == {
        "prepare": starts - 2 * DAY,  # one hour ago: still planned
        "day-before": starts - DAY,
        "two-hours": starts - 2 * H,
    }
    found = make_plan(now, appointments=[AppointmentFact("appt-1", starts)])
    kinds = {p.key: (p.kind, p.link) for p in found}
    assert kinds["appointment:appt-1:prepare"] == ("prepare_summary", "/trends")
    assert kinds["appointment:appt-1:day-before"] == ("follow_up", "/reminders")
    assert kinds["appointment:appt-1:two-hours"] == ("follow_up", "/reminders")
    day_before = next(p for p in found if p.key.endswith("day-before"))
    assert starts.astimezone(MADRID).strftime("%H:%M") in day_before.body


def test_appointment_reminders_in_the_past_are_dropped() -> None:
    now = utc(2026, 6, 10, 9)
    # prepare 18 hours ago: dropped; the other two are ahead
    assert set(appointment_reminders(now, now + 30 * H)) == {"day-before", "two-hours"}
    # day-before 20 hours ago, prepare 44 hours ago: only two-hours is left
    assert set(appointment_reminders(now, now + 4 * H)) == {"two-hours"}
    # two-hours was 30 minutes ago: kept (within the hour); 90 minutes ago: dropped
    assert set(appointment_reminders(now, now + 90 * dt.timedelta(minutes=1))) == {"two-hours"}
    assert appointment_reminders(now, now + 30 * dt.timedelta(minutes=1)) == {}
    assert appointment_reminders(now, now - H) == {}
    # beyond the horizon: only what falls within 48 hours
    assert set(appointment_reminders(now, now + 72 * H)) == {"prepare"}
    assert appointment_reminders(now, now + 5 * DAY) == {}


def flag(raised_at: dt.datetime, *, urgency: str = "routine", followed_up: bool = False) -> FlagFact:
    return FlagFact("flag-1", "R1", urgency, raised_at, followed_up)


def test_a_routine_flag_without_follow_up_gets_a_nudge_after_a_week() -> None:
    now = utc(2026, 6, 10, 12)
    later = of_kind(make_plan(now, flags=[flag(now - 6 * DAY)]), "flag_nudge")
    assert [(p.key, p.due_at, p.subject_id) for p in later] == [("flag:flag-1:nudge", now + DAY, "flag-1")]
    overdue = of_kind(make_plan(now, flags=[flag(now - 30 * DAY)]), "flag_nudge")
    assert [(p.key, p.due_at) for p in overdue] == [("flag:flag-1:nudge", now)]
    assert of_kind(make_plan(now, flags=[flag(now - DAY)]), "flag_nudge") == []  # six days ahead: not yet planned


def test_no_nudge_for_a_flag_followed_up_or_not_routine() -> None:
    now = utc(2026, 6, 10, 12)
    assert of_kind(make_plan(now, flags=[flag(now - 8 * DAY, followed_up=True)]), "flag_nudge") == []
    for urgency in ("soon", "urgent"):
        assert of_kind(make_plan(now, flags=[flag(now - 8 * DAY, urgency=urgency)]), "flag_nudge") == []


# ---- keys: unique and stable -----------------------------------------------------------------------------------------


BASE = utc(2026, 6, 10, 9)


def everything(now: dt.datetime) -> list[Planned]:
    today = BASE.astimezone(MADRID).date()
    return make_plan(
        now,
        prefs=Preferences(daily_log_at=dt.time(21, 0), quiet_start=dt.time(23, 0), quiet_end=dt.time(7, 30)),
        appointments=[AppointmentFact("appt-1", utc(2026, 6, 11, 10)), AppointmentFact("appt-2", utc(2026, 6, 12, 16))],
        regimens=[
            regimen(kind="antispasmodic", times=("06:00", "14:00", "22:00"), start=today - 27 * DAY, rid="reg-1"),
            regimen(kind="heat", times=("12:00",), start=today - 100 * DAY, rid="reg-2"),
        ],
        flags=[
            FlagFact("flag-1", "R2", "routine", BASE - 10 * DAY, False),
            FlagFact("flag-2", "R3", "routine", BASE - 6 * DAY, False),
        ],
    )


def test_keys_are_unique_within_a_plan() -> None:
    found = everything(utc(2026, 6, 10, 9))
    keys = [p.key for p in found]
    assert len(keys) == len(set(keys))
    assert {p.kind for p in found} == {
        "follow_up",
        "prepare_summary",
        "medicine",
        "treatment_review",
        "flag_nudge",
        "daily_log",
    }


@given(offset_minutes=st.integers(min_value=1, max_value=36 * 60))
@example(offset_minutes=19 * 60 + 30)  # 06:00 medicine moved to 07:30 by quiet hours; planned again at 06:30 local
def test_planning_again_later_names_the_same_events_with_the_same_keys(offset_minutes: int) -> None:
    """Idempotent planning: an event still ahead at the second plan has the same key and time in it. A reminder
    moved by quiet hours (06:00 -> 07:30) drops out of the plan once 06:00 has passed, and plan_patient then cancels
    the pending row (see test_a_reminder_moved_by_quiet_hours_is_still_planned_after_its_wall_clock_time)."""
    first_now = BASE
    second_now = first_now + dt.timedelta(minutes=offset_minutes)
    first, second = everything(first_now), everything(second_now)
    assert len({p.key for p in second}) == len(second)
    again = {p.key: p for p in second}
    for p in first:
        if p.kind in {"flag_nudge", "treatment_review"}:  # due "now" when overdue: the key alone names them
            if p.due_at >= second_now + H:
                assert p.key in again and again[p.key].due_at == p.due_at, p
            continue
        if second_now <= p.due_at < first_now + planner.HORIZON:
            assert p.key in again, p
            assert (again[p.key].due_at, again[p.key].kind, again[p.key].subject_id) == (p.due_at, p.kind, p.subject_id)
    # and a flag's nudge keeps its key whenever it is planned
    assert {p.key for p in first if p.kind == "flag_nudge"} <= {"flag:flag-1:nudge", "flag:flag-2:nudge"}
    assert {p.key for p in second if p.kind == "flag_nudge"} <= {"flag:flag-1:nudge", "flag:flag-2:nudge"}


def test_planning_twice_at_the_same_moment_gives_the_same_plan() -> None:
    now = utc(2026, 6, 10, 9)
    assert everything(now) == everything(now)
