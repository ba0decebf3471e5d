"""The demo diary that `make run` loads on first start: long enough, plausible, and loaded only once."""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo

from litestar import Litestar
from sqlalchemy import func, select

from backend import demo
from backend.accounts.models import User
from backend.diary.models import CheckIn, Episode
from backend.shared.access import CareLink
from tests.conftest import Api

TODAY = dt.date(2026, 11, 29)


def test_the_demo_diary_covers_at_least_twelve_weeks_with_plausible_entries() -> None:
    diary = demo.build_diary(TODAY)
    days = {e["started_at"].date() for e in diary.episodes}  # type: ignore[union-attr]
    assert (TODAY - min(days)).days >= 12 * 7
    assert max(days) < TODAY
    assert all(0 <= e["intensity"] <= 10 for e in diary.episodes)  # type: ignore[operator]
    assert len(diary.checkins) >= 0.75 * 12 * 7
    hours = [e["started_at"].hour for e in diary.episodes]  # type: ignore[union-attr]
    evening_or_night = sum(1 for h in hours if h >= 18 or h < 6)
    assert evening_or_night > len(hours) / 2  # spasms cluster in the evening and at night
    assert {t for e in diary.episodes for t in e["triggers"]} >= {"fatigue", "full_bladder"}  # type: ignore[attr-defined]
    # After baclofen starts, fewer and milder episodes: the demo has a story to tell.
    start = next(r["start_date"] for r in diary.regimens if r["name"] == "Baclofen")
    before = [e for e in diary.episodes if e["started_at"].date() < start]  # type: ignore[union-attr, operator]
    after = [e for e in diary.episodes if e["started_at"].date() >= start]  # type: ignore[union-attr, operator]
    weeks_before = (start - min(days)).days / 7  # type: ignore[operator]
    weeks_after = (TODAY - start).days / 7  # type: ignore[operator]
    assert len(after) / weeks_after < len(before) / weeks_before
    assert statistics.mean(e["intensity"] for e in after) < statistics.mean(e["intensity"] for e in before)  # type: ignore[misc]
    tz = zoneinfo.ZoneInfo(demo.TIME_ZONE)
    assert all(e["started_at"].tzinfo == tz for e in diary.episodes)  # type: ignore[union-attr]


def test_the_same_seed_gives_the_same_diary() -> None:
    assert demo.build_diary(TODAY) == demo.build_diary(TODAY)


async def test_demo_loads_once_and_its_accounts_sign_in(database_server, browser) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from backend.app import create_app
    from tests.conftest import make_settings
    from tests.support.databases import migrate

    url = await asyncio.to_thread(database_server.new_database, "spasm_demo")
    await asyncio.to_thread(migrate, url)
    app: Litestar = create_app(make_settings(url))
    async with app.state.sessionmaker() as db:
        assert await demo.load_demo(db, TODAY) is True
        assert await demo.load_demo(db, TODAY) is False  # second start: nothing added
        assert (await db.execute(select(func.count()).select_from(User))).scalar_one() == 2
        episodes = (await db.execute(select(func.count()).select_from(Episode))).scalar_one()
        assert episodes == len(demo.build_diary(TODAY).episodes)
        assert (await db.execute(select(func.count()).select_from(CheckIn))).scalar_one() > 60
        link = (await db.execute(select(CareLink))).scalar_one()
        assert link.status == "active"

    import httpx

    for email, password, role in [
        (demo.PATIENT_EMAIL, demo.PATIENT_PASSWORD, "patient"),
        (demo.CLINICIAN_EMAIL, demo.CLINICIAN_PASSWORD, "clinician"),
    ]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
            api = Api(c)
            await api.refresh_csrf()
            response = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": password})
            assert response.status_code == 200, response.text
            assert response.json()["user"]["role"] == role
            home = await c.get("/", headers={"accept": "text/html"})
            assert home.status_code == 200
            assert ("Recent episodes" if role == "patient" else "Alex Demo") in home.text
    await app.state.engine.dispose()
