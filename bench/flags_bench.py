"""(e) Flag evaluation on write, and the periodic sweep (issue: follow-up flags)."""

from __future__ import annotations

import asyncio
import os
import datetime as dt
import time
import uuid

from backend.db import make_engine, make_sessionmaker
from backend.flags.services import evaluate_patient, sweep
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

    async def on_write(patient: uuid.UUID, urgent_only: bool) -> None:
        async with maker() as db:
            await evaluate_patient(db, patient, now, urgent_only=urgent_only)

    for label, urgent in (("urgent rules, in the write's request", True), ("all rules, after the answer", False)):
        five_years = await timings(lambda: on_write(heavy, urgent), 200)
        one_month = await timings(lambda: on_write(light, urgent), 200)
        print(f"  {label}:")
        print(f"    5-year diary   {describe(five_years)}   (target: median < 5 ms for the write path)")
        print(f"    1-month diary  {describe(one_month)}   ratio 5y/1m "
              f"{sorted(five_years)[100] / sorted(one_month)[100]:.2f}")  # fmt: skip

    many = [(uuid.uuid4(), 14, 3) for _ in range(int(os.environ.get("BENCH_SWEEP_PATIENTS", "10000")))]
    t0 = time.perf_counter()
    await add_patients(engine, many, now)
    print(f"  built 10,000 patients with 2 weeks of diary each ({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    count = await sweep(maker, now)
    elapsed = time.perf_counter() - t0
    print(f"  sweep: {count} patients in {elapsed:.1f} s = {count / elapsed:,.0f} patients/s")
    await engine.dispose()
