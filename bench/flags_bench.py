"""(e) Flag evaluation on write, and the periodic sweep (issue: follow-up flags)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time
import uuid
from types import SimpleNamespace

from sqlalchemy import text

from backend.db import make_engine, make_sessionmaker
from backend.flags.screen import screen_row
from backend.flags.services import evaluate_patient, sweep, urgent_check
from backend.flags.window import Ep
from bench.common import add_patients, describe, fresh_sqlite, timings


async def run() -> None:
    now = dt.datetime.now(dt.UTC)
    settings = await asyncio.to_thread(fresh_sqlite, "flags")
    engine = make_engine(settings)
    maker = make_sessionmaker(engine)
    heavy, light = uuid.uuid4(), uuid.uuid4()
    t0 = time.perf_counter()
    await add_patients(engine, [(heavy, 5 * 365, 10), (light, 30, 10)], now)
    print(f"  built diaries: 5 years x 10 episodes/day and 1 month x 10/day ({time.perf_counter() - t0:.0f} s)")

    def new_spasm() -> Ep:
        return Ep(
            uuid.uuid4(),
            "spasm",
            now - dt.timedelta(minutes=5),
            60,
            6,
            duration_seconds=40,
            sites=(("calf", "left"),),
            triggers=frozenset({"fatigue"}),
        )

    async def urgent_on_write(patient: uuid.UUID) -> None:
        async with maker() as db:
            await urgent_check(db, patient, now, episode=new_spasm())

    async def full(patient: uuid.UUID) -> None:
        async with maker() as db:
            await evaluate_patient(db, patient, now)

    async def select_one() -> None:
        async with maker() as db:
            await db.execute(text("SELECT 1"))

    baseline = await timings(select_one, 300)
    print(f"  one SELECT 1 in a session (the floor of any database step): {describe(baseline)}")
    screen_figures(now)
    for label, fn in (
        ("urgent rules, inside the write's request", urgent_on_write),
        ("all rules, after the answer and in the sweep", full),
    ):
        five_years = await timings(lambda fn=fn: fn(heavy), 300)
        one_month = await timings(lambda fn=fn: fn(light), 300)
        print(f"  {label}:")
        print(f"    5-year diary (18,250 episodes)  {describe(five_years)}")
        print(
            f"    1-month diary (300 episodes)    {describe(one_month)}   5y/1m median ratio "
            f"{statistics.median(five_years) / statistics.median(one_month):.2f}"
        )
    print("  target: evaluation on write under 5 ms median for the 5-year diary")

    many = [(uuid.uuid4(), 14, 3) for _ in range(int(os.environ.get("BENCH_SWEEP_PATIENTS", "10000")))]
    t0 = time.perf_counter()
    await add_patients(engine, many, now)
    print(f"  built 10,000 patients with 2 weeks of diary each ({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    count = await sweep(maker, now)
    elapsed = time.perf_counter() - t0
    print(f"  sweep: {count} patients in {elapsed:.1f} s = {count / elapsed:,.0f} patients/s")
    await engine.dispose()


def screen_figures(now: dt.datetime) -> None:
    """The grouped episode writer screens each write without the database; only a write it cannot clear runs the
    urgent rules with the diary (the figures that follow)."""
    profile = SimpleNamespace(
        conditions=["idiopathic_cramps"],
        time_zone="Europe/Madrid",
        sci_level=None,
        itb_pump=False,
        itb_refill_date=None,
        baseline_systolic=None,
        sleep_start=dt.time(23),
        sleep_end=dt.time(7),
    )

    def row(**changes: object) -> SimpleNamespace:
        return SimpleNamespace(
            **{
                "id": uuid.uuid4(),
                "kind": "spasm",
                "started_at": now - dt.timedelta(minutes=5),
                "start_offset": 60,
                "intensity": 6,
                "duration_seconds": 40,
                "ended_at": None,
                "ongoing": False,
                "body_sites": [{"site": "calf", "side": "left"}],
                "woke_from_sleep": None,
                "triggers": ["fatigue"],
                "symptoms": [],
                "context": [],
                "treatments": [],
                **changes,
            }
        )

    quick, warning = row(), row(symptoms=["new_weakness"])
    figures = []
    for entry in (quick, warning):
        rounds = 20_000
        started = time.perf_counter()
        for _ in range(rounds):
            screen_row(profile, False, entry, now)
        figures.append((time.perf_counter() - started) / rounds * 1e6)
    print(
        f"  the grouped writer's screen of a write, no database: a quick log {figures[0]:.1f} us; an entry with a "
        f"warning sign (the urgent rules run on it) {figures[1]:.1f} us; then only the second goes on to the urgent "
        f"rules with the diary:"
    )
