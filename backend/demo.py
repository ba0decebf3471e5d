"""Demo data for a first look: a patient with multiple sclerosis and 16 weeks of realistic diary, and a clinician
they share it with. Loaded once, on first start, and never in production.

The pattern is made to be worth looking at: spasms cluster in the evening and at night, some wake the patient, a few
triggers recur (tiredness, a full bladder, changing position), and after baclofen starts six weeks ago the episodes
become fewer and milder.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.accounts.passwords import hash_password
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.shared.access import CareLink

PATIENT_EMAIL = "demo.patient@example.org"
PATIENT_PASSWORD = "spasm-demo-patient"
CLINICIAN_EMAIL = "demo.clinician@example.org"
CLINICIAN_PASSWORD = "spasm-demo-clinician"
TIME_ZONE = "Europe/Madrid"
WEEKS = 16


@dataclass(frozen=True)
class DemoDiary:
    episodes: list[dict[str, object]]
    checkins: list[dict[str, object]]
    penn: list[dict[str, object]]
    regimens: list[dict[str, object]]


# Hours of the day with their weights: mornings on waking, a dip at midday, a rise in the evening and at night.
_HOURS = [
    (0, 3),
    (1, 3),
    (2, 3),
    (3, 2),
    (4, 2),
    (5, 2),
    (6, 4),
    (7, 5),
    (8, 3),
    (9, 2),
    (10, 1),
    (11, 1),
    (12, 1),
    (13, 1),
    (14, 1),
    (15, 2),
    (16, 2),
    (17, 3),
    (18, 4),
    (19, 5),
    (20, 6),
    (21, 6),
    (22, 6),
    (23, 4),
]
_SITES = [("calf", 6), ("thigh", 4), ("hamstring", 4), ("foot", 2), ("lower_back", 1), ("hip", 1)]
_TRIGGERS = [
    ("fatigue", 5),
    ("position_change", 4),
    ("full_bladder", 3),
    ("heat", 2),
    ("stress", 2),
    ("touch", 1),
    ("tight_clothing", 1),
    ("none_known", 3),
]


def _pick(rng: random.Random, weighted: Sequence[tuple[object, int]]) -> object:
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights=weights)[0]


def build_diary(today: dt.date, seed: int = 7) -> DemoDiary:
    """A deterministic diary ending yesterday (pure: no database, easy to test)."""
    rng = random.Random(seed)
    tz = zoneinfo.ZoneInfo(TIME_ZONE)
    first = today - dt.timedelta(weeks=WEEKS)
    baclofen_start = today - dt.timedelta(weeks=6)
    episodes: list[dict[str, object]] = []
    checkins: list[dict[str, object]] = []
    day = first
    while day < today:
        on_baclofen = day >= baclofen_start
        rate = 1.6 if on_baclofen else 3.2
        count = min(8, int(rng.expovariate(1 / rate)))
        if rng.random() < 0.08:  # a day the patient did not open the app at all
            day += dt.timedelta(days=1)
            continue
        for _ in range(count):
            hour = int(_pick(rng, [(h, w) for h, w in _HOURS]))  # type: ignore[call-overload]
            start = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), tz)
            night = hour < 6
            intensity = max(1, min(10, round(rng.gauss(4.5 if on_baclofen else 6.0, 1.6))))
            site = str(_pick(rng, _SITES))
            side = rng.choice(["left", "right", "left", "both"]) if site != "lower_back" else "middle"
            trigger = str(_pick(rng, _TRIGGERS))
            treatments: list[dict[str, object]] = []
            if rng.random() < 0.6:
                kind = rng.choice(["stretching", "stretching", "heat", "rest", "massage"])
                treatments.append(
                    {
                        "kind": kind,
                        "name": None,
                        "dose": None,
                        "relief": max(0, min(10, round(rng.gauss(5, 2)))),
                        "minutes_to_relief": rng.choice([2, 5, 5, 10, 15]),
                    }
                )
            duration = max(5, int(rng.lognormvariate(4.0, 0.9)))  # seconds; median about a minute
            episodes.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "kind": rng.choice(["spasm", "spasm", "flexor_spasm", "stiffness_flare", "clonus"]),
                    "started_at": start,
                    "duration_seconds": min(duration, 1800),
                    "intensity": intensity,
                    "body_sites": [{"site": site, "side": side}],
                    "woke_from_sleep": night and rng.random() < 0.6,
                    "triggers": [trigger],
                    "treatments": treatments,
                    "impacts": ["could_not_sleep"] if night and intensity >= 6 else [],
                    "note": "Worse after a long day at work." if rng.random() < 0.03 else None,
                }
            )
        if rng.random() < 0.85:
            checkins.append(
                {
                    "day": day,
                    "no_episodes": count == 0,
                    "stiffness": max(0, min(10, round(rng.gauss(4.0 if on_baclofen else 5.5, 1.2)))),
                    "sleep_disturbance": max(0, min(10, round(rng.gauss(3.0 if on_baclofen else 5.0, 1.5)))),
                    "pain": max(0, min(10, round(rng.gauss(3.0, 1.2)))),
                    "meds_taken": (rng.choice(["all"] * 9 + ["some"]) if on_baclofen else "no_regular_medicines"),
                }
            )
        day += dt.timedelta(days=1)
    penn: list[dict[str, object]] = []
    week_day = first
    while week_day < today:
        on_baclofen = week_day >= baclofen_start
        iso = week_day.isocalendar()
        penn.append({"week": f"{iso.year}-W{iso.week:02d}", "frequency": 2 if on_baclofen else 3, "severity": 2})
        week_day += dt.timedelta(weeks=1)
    regimens = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "kind": "stretching",
            "name": "Daily stretches",
            "dose": None,
            "schedule": "Every evening, 15 minutes",
            "times": ["20:00"],
            "start_date": first,
            "stop_date": None,
        },
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "kind": "antispasmodic",
            "name": "Baclofen",
            "dose": "10 mg",
            "schedule": "Three times a day",
            "times": ["08:00", "14:00", "21:00"],
            "start_date": baclofen_start,
            "stop_date": None,
        },
    ]
    return DemoDiary(episodes, checkins, penn, regimens)


async def load_demo(db: AsyncSession, today: dt.date | None = None) -> bool:
    """Loads the demo accounts and diary when the database has no accounts yet. Returns whether it did."""
    if (await db.execute(select(func.count()).select_from(User))).scalar_one():
        return False
    now = dt.datetime.now(dt.UTC)
    today = today or now.astimezone(zoneinfo.ZoneInfo(TIME_ZONE)).date()
    patient = User(
        email=PATIENT_EMAIL,
        password_hash=hash_password(PATIENT_PASSWORD),
        role="patient",
        display_name="Alex Demo",
        created_at=now,
    )
    clinician = User(
        email=CLINICIAN_EMAIL,
        password_hash=hash_password(CLINICIAN_PASSWORD),
        role="clinician",
        display_name="Dr Sam Demo",
        created_at=now,
    )
    db.add_all([patient, clinician])
    await db.flush()
    db.add(
        PatientProfile(
            patient_id=patient.id,
            conditions=["multiple_sclerosis"],
            time_zone=TIME_ZONE,
            sleep_start=dt.time(23),
            sleep_end=dt.time(7),
            language="en",
            version=1,
            updated_at=now,
        )
    )
    db.add(
        CareLink(
            patient_id=patient.id,
            clinician_id=clinician.id,
            status="active",
            scopes=["view", "annotate", "notify", "export"],
            consent_version="1",
            consented_at=now,
            created_at=now,
        )
    )
    diary = build_diary(today)
    for e in diary.episodes:
        start = e["started_at"]
        assert isinstance(start, dt.datetime)
        offset = int((start.utcoffset() or dt.timedelta()).total_seconds() // 60)
        entered = start + dt.timedelta(minutes=3)
        db.add(
            Episode(
                patient_id=patient.id,
                start_offset=offset,
                ended_at=None,
                end_offset=None,
                ongoing=False,
                own_triggers=[],
                symptoms=[],
                context=[],
                reporter="self",
                entered_at=entered,
                entered_offset=offset,
                received_at=entered,
                updated_at=entered,
                version=1,
                content_hash="demo",
                **e,
            )
        )  # type: ignore[arg-type]
    for c in diary.checkins:
        day = c["day"]
        assert isinstance(day, dt.date)
        at = dt.datetime.combine(day, dt.time(21, 30), zoneinfo.ZoneInfo(TIME_ZONE))
        db.add(
            CheckIn(
                patient_id=patient.id, symptoms=[], entered_at=at, updated_at=at, version=1, content_hash="demo", **c
            )
        )  # type: ignore[arg-type]
    for p in diary.penn:
        db.add(PennRating(patient_id=patient.id, entered_at=now, updated_at=now, version=1, content_hash="demo", **p))  # type: ignore[arg-type]
    for r in diary.regimens:
        db.add(
            Regimen(
                patient_id=patient.id, note=None, entered_at=now, updated_at=now, version=1, content_hash="demo", **r
            )
        )  # type: ignore[arg-type]
    # Reminders to show: a daily nudge in the evening, quiet nights, and a follow-up next week.
    from backend.reminders.models import Appointment, ReminderPreferences
    from backend.reminders.queue import plan_patient

    db.add(
        ReminderPreferences(
            patient_id=patient.id,
            daily_log_at=dt.time(20, 30),
            medicines=True,
            quiet_start=dt.time(22, 30),
            quiet_end=dt.time(7, 30),
            email=False,
            updated_at=now,
        )
    )
    follow_up = dt.datetime.combine(today + dt.timedelta(days=6), dt.time(10, 30), zoneinfo.ZoneInfo(TIME_ZONE))
    db.add(
        Appointment(
            patient_id=patient.id,
            clinician_id=clinician.id,
            starts_at=follow_up,
            minutes=30,
            place="Neurology clinic, room 4",
            created_at=now,
        )
    )
    await db.commit()
    await plan_patient(db, patient.id, now)
    return True
