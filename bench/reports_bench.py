"""(c) Report time for diaries of 1 month, 1 year and 5 years; (d) the triage list for 500 patients."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
import uuid

import httpx
from sqlalchemy import insert

from backend.app import create_app
from backend.care.triage import triage
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker
from backend.reports.services import report_context
from backend.shared.access import CareLink
from bench.common import add_patients, describe, fresh_sqlite, timings


async def report_page(settings: Settings, patient_id: uuid.UUID, now: dt.datetime) -> None:
    """The whole report page as a clinician's browser gets it (the access check and its audit entry, the numbers,
    the flags with their histories, the template in the reader's language): what the 150 ms target is about."""
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as client:
        csrf = (await client.get("/api/v1/auth/session")).json()["csrf_token"]
        body = {
            "email": f"bench-{uuid.uuid4().hex[:8]}@example.org",
            "password": "a perfectly fine pass-phrase",
            "display_name": "Dr Bench",
            "role": "clinician",
            "time_zone": "Europe/Madrid",
        }
        made = await client.post("/api/v1/auth/register", json=body, headers={"x-csrf-token": csrf})
        assert made.status_code == 201, made.text
        clinician = uuid.UUID(made.json()["user"]["id"])
        async with app.state.sessionmaker() as db:
            db.add(
                CareLink(
                    patient_id=patient_id,
                    clinician_id=clinician,
                    status="active",
                    scopes=["view", "annotate", "notify", "export"],
                    consent_version="1",
                    consented_at=now,
                    created_at=now,
                )
            )
            await db.commit()
        for language in ("en", "es"):
            headers = {"accept": "text/html", "accept-language": language}

            async def get(headers: dict[str, str] = headers) -> None:
                response = await client.get(f"/patients/{patient_id}/report", headers=headers)
                assert response.status_code == 200, response.text[:500]

            values = await timings(get, 40)
            print(
                f"  report page (HTTP, {language}), 5-year diary, 28 days: {describe(values)} "
                f"(target: under 150 ms median; {statistics.median(values) / 150:.2f}x the target)"
            )


async def run() -> None:
    now = dt.datetime.now(dt.UTC)
    settings = await asyncio.to_thread(fresh_sqlite, "reports")
    engine = make_engine(settings)
    maker = make_sessionmaker(engine)
    sizes = {"1 month": (uuid.uuid4(), 30), "1 year": (uuid.uuid4(), 365), "5 years": (uuid.uuid4(), 5 * 365)}
    t0 = time.perf_counter()
    await add_patients(engine, [(pid, days, 10) for pid, days in sizes.values()], now)
    print(f"  built diaries of 1 month, 1 year and 5 years at 10 episodes a day ({time.perf_counter() - t0:.0f} s)")

    async def report(pid: uuid.UUID) -> None:
        async with maker() as db:
            await report_context(db, pid, 28)

    medians = {}
    for label, (pid, days) in sizes.items():
        values = await timings(lambda pid=pid: report(pid), 60)
        medians[label] = statistics.median(values)
        print(f"  28-day report, {label:8} diary ({days * 10:>6,} episodes): {describe(values)}")
    print(
        f"  growth: 5 years / 1 month = {medians['5 years'] / medians['1 month']:.2f}x the time for "
        f"{5 * 365 / 30:.0f}x the diary (target: report under 150 ms median for 5 years)"
    )

    await report_page(settings, sizes["5 years"][0], now)

    clinician = uuid.uuid4()
    patients = [(uuid.uuid4(), 30, 3) for _ in range(500)]
    await add_patients(engine, patients, now)
    await add_patients(engine, [(clinician, 0, 0)], now)
    async with engine.begin() as conn:
        await conn.execute(
            insert(CareLink),
            [
                {
                    "patient_id": pid,
                    "id": uuid.uuid4(),
                    "clinician_id": clinician,
                    "status": "active",
                    "scopes": ["view"],
                    "consent_version": "1",
                    "consented_at": now,
                    "created_at": now,
                }
                for pid, _, _ in patients
            ],
        )

    async def triage_list() -> None:
        async with maker() as db:
            rows = await triage(db, clinician, 7, now)
            assert len(rows) == 500

    values = await timings(triage_list, 30)
    print(f"  triage list, 500 patients x 30 days x 3 episodes a day: {describe(values)} (target: under 200 ms median)")
    await engine.dispose()
