"""(e) Flag evaluation on write, and the periodic sweep (issue: follow-up flags)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time
import uuid

from sqlalchemy import text

from backend.db import make_engine, make_sessionmaker
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
        return Ep(uuid.uuid4(), "spasm", now - dt.timedelta(minutes=5), 60, 6, duration_seconds=40,
                  sites=(("calf", "left"),), triggers=frozenset({"fatigue"}))  # fmt: skip

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
    for label, fn in (("urgent rules, inside the write's request", urgent_on_write),
                      ("all rules, after the answer and in the sweep", full)):  # fmt: skip
        five_years = await timings(lambda fn=fn: fn(heavy), 300)
        one_month = await timings(lambda fn=fn: fn(light), 300)
        print(f"  {label}:")
        print(f"    5-year diary (18,250 episodes)  {describe(five_years)}")
        print(f"    1-month diary (300 episodes)    {describe(one_month)}   5y/1m median ratio "
              f"{statistics.median(five_years) / statistics.median(one_month):.2f}")  # fmt: skip
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
