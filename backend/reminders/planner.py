"""Which reminders a patient should get, and when: pure functions over plain data, no database.

Times are planned in the patient's IANA time zone with RFC 5545 recurrence rules (dateutil.rrule) on local wall-clock
times, then turned into UTC instants with zoneinfo. A daily 08:00 stays at 08:00 across a daylight-saving change;
a wall-clock time that does not exist that day (02:30 when clocks jump from 02:00 to 03:00) moves forward by the
size of the gap, and one that happens twice takes the first (fold=0), as RFC 5545 section 3.3.5 says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, rrule

HORIZON = dt.timedelta(hours=48)
REVIEW_FIRST_DAY = 28  # CLINICAL.md R7: a new treatment is reviewed at day 28 ...
REVIEW_EVERY_DAYS = 90  # ... and then every 90 days
FLAG_NUDGE_AFTER = dt.timedelta(days=7)  # a routine flag with no follow-up for 7 days (issue: reminders)
REVIEWED_KINDS = {"muscle_relaxant", "antispasmodic", "botulinum_toxin", "nutritional_correction", "physiotherapy"}


@dataclass(frozen=True)
class Preferences:
    daily_log_at: dt.time | None = None
    medicines: bool = True
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None


@dataclass(frozen=True)
class AppointmentFact:
    id: str
    starts_at: dt.datetime


@dataclass(frozen=True)
class RegimenFact:
    id: str
    kind: str
    name: str
    dose: str | None
    times: tuple[str, ...]
    start_date: dt.date
    stop_date: dt.date | None


@dataclass(frozen=True)
class FlagFact:
    id: str
    rule_id: str
    urgency: str
    raised_at: dt.datetime
    followed_up: bool  # acknowledged, resolved or otherwise acted on by a clinician


@dataclass(frozen=True)
class Planned:
    key: str
    kind: str
    due_at: dt.datetime
    title: str
    body: str
    link: str
    subject_id: str | None = None


Words = Callable[[str], str]


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a local day; a time in a spring-forward gap moves past the gap."""
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:  # does not exist that day
        gap = first.utcoffset() - naive.replace(tzinfo=zone, fold=1).utcoffset()  # type: ignore[operator]
        return (naive.replace(tzinfo=zone, fold=1) + abs(gap)).astimezone(dt.UTC)
    return first.astimezone(dt.UTC)


def daily_slots(at: dt.time, zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, dt.datetime]]:
    """Every local day's `at` between two instants, by a DAILY recurrence rule on the wall clock, with the local day
    each belongs to (a time pushed past midnight by a gap still belongs to the day it was planned for)."""
    first_day = start.astimezone(zone).date() - dt.timedelta(days=1)
    days = rrule(
        DAILY,
        dtstart=dt.datetime.combine(first_day, dt.time()),
        until=dt.datetime.combine(end.astimezone(zone).date() + dt.timedelta(days=1), dt.time()),
    )
    slots = ((d.date(), local_instant(d.date(), at, zone)) for d in days)
    return [(day, moment) for day, moment in slots if start <= moment < end]


def daily(at: dt.time, zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    return [moment for _day, moment in daily_slots(at, zone, start, end)]


def out_of_quiet_hours(moment: dt.datetime, zone: ZoneInfo, prefs: Preferences) -> dt.datetime:
    """A reminder due in the patient's quiet hours waits until they end."""
    if prefs.quiet_start is None or prefs.quiet_end is None or prefs.quiet_start == prefs.quiet_end:
        return moment
    local = moment.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    start, end = prefs.quiet_start, prefs.quiet_end
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return moment
    day = local.date() if (start < end or t < end) else local.date() + dt.timedelta(days=1)
    return local_instant(day, end, zone)


def plan(
    now: dt.datetime,
    zone: ZoneInfo,
    prefs: Preferences,
    appointments: Iterable[AppointmentFact],
    regimens: Iterable[RegimenFact],
    flags: Iterable[FlagFact],
    t: Words,
) -> list[Planned]:
    """Every reminder due between `now` and the horizon (and follow-ups' reminders whenever they fall in it)."""
    end = now + HORIZON
    found: list[Planned] = []

    def slots(at: dt.time) -> list[tuple[dt.date, dt.datetime]]:
        """The day's slots from now on, and earlier ones that quiet hours moved to now or later."""
        return [
            (day, moment)
            for day, moment in daily_slots(at, zone, now - dt.timedelta(days=1), end)
            if moment >= now or out_of_quiet_hours(moment, zone, prefs) >= now
        ]

    def fmt_local(moment: dt.datetime) -> str:
        return moment.astimezone(zone).strftime("%H:%M")

    for a in appointments:
        if a.starts_at <= now:
            continue
        when = a.starts_at.astimezone(zone)
        day_before = a.starts_at - dt.timedelta(days=1)
        found.append(
            Planned(
                f"appointment:{a.id}:day-before",
                "follow_up",
                day_before,
                t("Follow-up tomorrow"),
                t("Your follow-up appointment is tomorrow at %(time)s.") % {"time": fmt_local(a.starts_at)},
                "/reminders",
                a.id,
            )
        )
        found.append(
            Planned(
                f"appointment:{a.id}:two-hours",
                "follow_up",
                a.starts_at - dt.timedelta(hours=2),
                t("Follow-up in two hours"),
                t("Your follow-up appointment is at %(time)s today.") % {"time": when.strftime("%H:%M")},
                "/reminders",
                a.id,
            )
        )
        found.append(
            Planned(
                f"appointment:{a.id}:prepare",
                "prepare_summary",
                a.starts_at - dt.timedelta(days=2),
                t("Prepare for your appointment"),
                t("Look at your trends and note what you want to ask; your clinician sees the same diary."),
                "/trends",
                a.id,
            )
        )

    for r in regimens:
        if r.kind in REVIEWED_KINDS and (r.stop_date is None or r.stop_date >= now.astimezone(zone).date()):
            first = r.start_date + dt.timedelta(days=REVIEW_FIRST_DAY)
            review = first
            today = now.astimezone(zone).date()
            while review < today:
                review += dt.timedelta(days=REVIEW_EVERY_DAYS)
            for day in (review,):
                # 10:00 on the day; planned later that day (a treatment entered late), as soon as it is planned.
                at = local_instant(day, dt.time(10, 0), zone)
                found.append(
                    Planned(
                        f"regimen:{r.id}:review:{day.isoformat()}",
                        "treatment_review",
                        max(at, now) if day == today else at,
                        t("Time to review a treatment"),
                        t(
                            "You started %(name)s on %(start)s. Has it helped? Your diary shows it; tell your "
                            "clinician at your next contact."
                        )
                        % {"name": r.name, "start": r.start_date.isoformat()},
                        "/trends",
                        r.id,
                    )
                )
        if prefs.medicines and r.times and (r.stop_date is None or r.stop_date > now.astimezone(zone).date()):
            for text in r.times:
                hour, minute = (int(x) for x in text.split(":"))
                for day, moment in slots(dt.time(hour, minute)):
                    # No reminder from the stop day on: a medicine being stopped is not one to be nudged to take.
                    if day < r.start_date or (r.stop_date is not None and day >= r.stop_date):
                        continue
                    # The reminder names the medicine and its dose, so the patient can answer it from the lock screen.
                    label = f"{r.name} {r.dose}" if r.dose else r.name
                    found.append(
                        Planned(
                            f"medicine:{r.id}:{day.isoformat()}T{text}",
                            "medicine",
                            moment,
                            t("%(medicine)s at %(time)s") % {"medicine": label, "time": text},
                            t("Time for %(medicine)s, as planned at %(time)s.") % {"medicine": label, "time": text},
                            "/plan",  # the plan, where its doses are counted
                            r.id,
                        )
                    )

    for f in flags:
        if f.urgency == "routine" and not f.followed_up:
            due = f.raised_at + FLAG_NUDGE_AFTER
            found.append(
                Planned(
                    f"flag:{f.id}:nudge",
                    "flag_nudge",
                    max(due, now),
                    t("Talk to your care team"),
                    t(
                        "A pattern in your diary has been waiting a week for follow-up. Please contact your "
                        "clinician or book a routine appointment."
                    ),
                    "/",
                    f.id,
                )
            )

    if prefs.daily_log_at is not None:
        for day, moment in slots(prefs.daily_log_at):
            found.append(
                Planned(
                    f"daily:{day.isoformat()}",
                    "daily_log",
                    moment,
                    t("Your diary for today"),
                    t("How was today? Log any spasms, or say there were none."),
                    "/check-in",
                )
            )

    adjusted = []
    for p in found:
        due = p.due_at if p.kind == "follow_up" else out_of_quiet_hours(p.due_at, zone, prefs)
        if due < end and (due >= now - dt.timedelta(hours=1) or p.kind == "flag_nudge"):
            adjusted.append(Planned(p.key, p.kind, due, p.title, p.body, p.link, p.subject_id))
    return adjusted
