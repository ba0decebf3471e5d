"""The CSV export: one row per entry, formulas neutralised, "not taken" never confused with "not recorded"."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.conftest import Api


async def test_csv_rows_are_plain_text_and_say_what_was_not_taken(app: Litestar, patient: Api, browser: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    hostile = '=HYPERLINK("http://evil.example","click") <script>alert(1)</script>'
    episode = {
        "kind": "cramp",
        "started_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "intensity": 5,
        "body_sites": [{"site": "calf", "side": "left"}],
        "note": hostile,
        "own_triggers": ["-2 degrees outside"],
        "treatments": [{"kind": "heat", "relief": 6}],
    }
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=episode)
    deleted = uuid.uuid4()
    await patient.put(f"/api/v1/episodes/{deleted}", json={**episode, "note": "gone"})
    await patient.delete(f"/api/v1/episodes/{deleted}")
    # The patient's own days (Europe/Madrid): the episode is on the first, whose check-in says there were episodes.
    today = now.astimezone(ZoneInfo("Europe/Madrid")).date()
    days = [(today - dt.timedelta(days=d)).isoformat() for d in range(3)]
    await patient.put(f"/api/v1/checkins/{days[0]}", json={"no_episodes": False, "meds_taken": "none"})
    await patient.put(f"/api/v1/checkins/{days[1]}", json={"no_episodes": True})
    await patient.put(
        f"/api/v1/checkins/{days[2]}", json={"no_episodes": True, "meds_taken": "all", "note": "+1 good day"}
    )
    await patient.put(
        f"/api/v1/regimens/{uuid.uuid4()}", json={"kind": "antispasmodic", "name": "@baclofen", "start_date": days[2]}
    )

    response = await patient.get("/api/v1/export/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["record"] for r in rows].count("episode") == 1  # the deleted one is not exported
    episode_row = next(r for r in rows if r["record"] == "episode")
    assert episode_row["note"] == "'" + hostile
    assert episode_row["triggers"] == "'-2 degrees outside"
    assert episode_row["treatments"] == "Heat (relief 6/10)"
    medicines = {r["day"]: r["regular_medicines"] for r in rows if r["record"] == "check-in"}
    assert medicines == {days[0]: "not taken", days[1]: "no answer recorded", days[2]: "Yes, all of them"}
    assert next(r for r in rows if r["day"] == days[2])["note"] == "'+1 good day"
    assert next(r for r in rows if r["record"] == "regimen")["regimen"] == "'@baclofen"
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(("=", "+", "-", "@")), row

    exporter: Api = await browser()
    await exporter.register("clinician")
    url = f"/api/v1/patients/{patient.user['id']}/export/csv"  # type: ignore[index]
    assert (await exporter.get(url)).status_code == 404
    await make_link(app, patient, exporter, "active", ["view", "export"])
    assert (await exporter.get(url)).text == response.text
