"""Shared pieces of the benchmarks: a fresh migrated database, bulk diary generation, and timing helpers."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.models import User
from backend.config import Settings
from backend.diary.models import CheckIn, Episode, PatientProfile
from tests.support.databases import migrate

SITES = ["calf", "thigh", "hamstring", "foot"]
TRIGGERS = ["fatigue", "position_change", "full_bladder", "stress"]


def fresh_sqlite(name: str) -> Settings:
    directory = Path(tempfile.mkdtemp(prefix="spasm-bench-"))
    url = f"sqlite+aiosqlite:///{directory / (name + '.db')}"
    migrate(url)
    return Settings(
        environment="test", database_url=url, secret_key="bench-" + "x" * 40, load_demo_data=False, sweep_seconds=0
    )


def user_row(patient_id: uuid.UUID, now: dt.datetime, created: dt.datetime) -> dict[str, Any]:
    return {
        "id": patient_id,
        "email": f"{patient_id.hex}@bench.example",
        "password_hash": "x",
        "role": "patient",
        "display_name": "Bench",
        "created_at": created,
    }


def profile_row(patient_id: uuid.UUID, now: dt.datetime, conditions: list[str]) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "conditions": conditions,
        "time_zone": "Europe/Madrid",
        "sleep_start": dt.time(23),
        "sleep_end": dt.time(7),
        "language": "en",
        "version": 1,
        "updated_at": now,
        "itb_pump": False,
    }


def diary_rows(
    patient_id: uuid.UUID, now: dt.datetime, days: int, per_day: int, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    episodes, checkins = [], []
    for d in range(days, 0, -1):
        day_start = now - dt.timedelta(days=d)
        for _ in range(per_day):
            start = day_start + dt.timedelta(seconds=rng.randrange(86_400))
            episodes.append(
                {
                    "patient_id": patient_id,
                    "id": uuid.uuid4(),
                    "kind": "spasm",
                    "started_at": start,
                    "start_offset": 60,
                    "duration_seconds": rng.randrange(5, 300),
                    "ongoing": False,
                    "intensity": rng.randrange(2, 8),
                    "body_sites": [{"site": rng.choice(SITES), "side": "left"}],
                    "woke_from_sleep": rng.random() < 0.1,
                    "triggers": [rng.choice(TRIGGERS)],
                    "own_triggers": [],
                    "symptoms": [],
                    "context": [],
                    "treatments": [
                        {
                            "kind": "stretching",
                            "name": None,
                            "dose": None,
                            "relief": rng.randrange(11),
                            "minutes_to_relief": 5,
                        }
                    ],
                    "impacts": [],
                    "note": None,
                    "reporter": "self",
                    "entered_at": start,
                    "entered_offset": 60,
                    "received_at": start,
                    "updated_at": start,
                    "version": 1,
                    "content_hash": "bench",
                }
            )
        checkins.append(
            {
                "patient_id": patient_id,
                "day": day_start.date(),
                "no_episodes": per_day == 0,
                "stiffness": rng.randrange(2, 7),
                "sleep_disturbance": rng.randrange(0, 6),
                "pain": rng.randrange(0, 5),
                "meds_taken": "all",
                "symptoms": [],
                "entered_at": day_start,
                "updated_at": day_start,
                "version": 1,
                "content_hash": "bench",
            }
        )
    return episodes, checkins


async def add_patients(
    engine: AsyncEngine, specs: list[tuple[uuid.UUID, int, int]], now: dt.datetime, conditions: list[str] | None = None
) -> None:
    """specs: (patient id, days of diary, episodes a day)."""
    rng = random.Random(1)
    conditions = conditions or ["multiple_sclerosis"]
    async with engine.begin() as conn:
        for start in range(0, len(specs), 500):
            chunk = specs[start : start + 500]
            created = now - dt.timedelta(days=max(days for _, days, _ in chunk) + 1)
            await conn.execute(insert(User), [user_row(pid, now, created) for pid, _, _ in chunk])
            await conn.execute(insert(PatientProfile), [profile_row(pid, now, conditions) for pid, _, _ in chunk])
            episodes: list[dict[str, Any]] = []
            checkins: list[dict[str, Any]] = []
            for pid, days, per_day in chunk:
                e, c = diary_rows(pid, now, days, per_day, rng)
                episodes += e
                checkins += c
            for i in range(0, len(episodes), 5000):
                await conn.execute(insert(Episode), episodes[i : i + 5000])
            for i in range(0, len(checkins), 5000):
                await conn.execute(insert(CheckIn), checkins[i : i + 5000])


async def timings(fn: Callable[[], Awaitable[Any]], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(values):7.2f} ms   p99 {p99:7.2f} ms"
