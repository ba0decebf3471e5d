"""Data rights: a patient takes everything with them, or erases it; the audit log keeps no health content."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy import inspect, text

from backend.shared.access import CareLink
from tests.conftest import Api

NOTE = "private note about my left calf"


async def fill_diary(api: Api) -> uuid.UUID:
    episode_id = uuid.uuid4()
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    body = {
        "kind": "cramp",
        "started_at": start,
        "intensity": 5,
        "body_sites": [{"site": "calf", "side": "left"}],
        "note": NOTE,
        "duration_seconds": 900,
    }
    assert (await api.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201
    gone = uuid.uuid4()
    await api.put(f"/api/v1/episodes/{gone}", json={**body, "note": None, "duration_seconds": 30})
    await api.delete(f"/api/v1/episodes/{gone}")
    day = dt.date.today().isoformat()
    assert (await api.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "pain": 3})).status_code == 201
    iso = dt.date.today().isocalendar()
    await api.put(f"/api/v1/penn/{iso.year}-W{iso.week:02d}", json={"frequency": 2, "severity": 2})
    await api.put(
        f"/api/v1/regimens/{uuid.uuid4()}", json={"kind": "stretching", "name": "Evening stretches", "start_date": day}
    )
    return episode_id


async def test_a_patient_downloads_everything(patient: Api) -> None:
    episode_id = await fill_diary(patient)
    response = await patient.get("/api/v1/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["account"]["email"] == patient.user["email"]  # type: ignore[index]
    assert [e["id"] for e in data["episodes"]] == [str(episode_id)]
    assert data["episodes"][0]["note"] == NOTE
    assert len(data["deleted_episodes"]) == 1
    assert len(data["checkins"]) == 1 and len(data["penn_ratings"]) == 1 and len(data["regimens"]) == 1
    assert data["profile"]["time_zone"] == "Europe/Madrid"
    assert any(f["rule_id"] == "U1" for f in data["flags"])


async def tables_mentioning(app: Litestar, patient_id: uuid.UUID) -> dict[str, int]:
    """Every row in every table whose columns hold this id, found by scanning the live schema."""
    found: dict[str, int] = {}
    async with app.state.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {t: [c["name"] for c in inspect(sync).get_columns(t)] for t in inspect(sync).get_table_names()}
        )
        sqlite = conn.dialect.name == "sqlite"
        value: Any = patient_id.hex if sqlite else patient_id
        for table, names in columns.items():
            for name in names:
                if not (name == "id" or name.endswith("_id") or name in {"acknowledged_by", "resolved_by", "set_by"}):
                    continue
                cast = f'CAST("{name}" AS TEXT)' if not sqlite else f'"{name}"'
                probe = str(patient_id) if not sqlite else value
                count = (
                    await conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE {cast} = :v'), {"v": probe})
                ).scalar_one()
                if count:
                    found[f"{table}.{name}"] = count
    return found


async def test_erasing_an_account_removes_every_row_but_the_contentless_audit(
    app: Litestar, patient: Api, clinician: Api
) -> None:
    await fill_diary(patient)
    patient_id = uuid.UUID(patient.user["id"])  # type: ignore[index]
    now = dt.datetime.now(dt.UTC)
    async with app.state.sessionmaker() as db:
        db.add(
            CareLink(
                patient_id=patient_id,
                clinician_id=uuid.UUID(clinician.user["id"]),
                status="active",  # type: ignore[index]
                scopes=["view"],
                consent_version="1",
                consented_at=now,
                created_at=now,
            )
        )
        await db.commit()
    before = await tables_mentioning(app, patient_id)
    assert {"episodes.patient_id", "checkins.patient_id", "flags.patient_id", "care_links.patient_id"} <= set(before)

    wrong = await patient.delete("/api/v1/account", json={"password": "not my password", "confirm": "erase my account"})
    assert wrong.status_code == 403
    unconfirmed = await patient.delete("/api/v1/account", json={"password": patient.user["password"], "confirm": "yes"})  # type: ignore[index]
    assert unconfirmed.status_code == 422
    assert await tables_mentioning(app, patient_id) == before

    erased = await patient.delete(
        "/api/v1/account",
        json={
            "password": patient.user["password"],  # type: ignore[index]
            "confirm": "erase my account",
        },
    )
    assert erased.status_code == 204
    after = await tables_mentioning(app, patient_id)
    assert set(after) <= {"audit_events.patient_id", "audit_events.actor_id"}, after
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT action, entity FROM audit_events"))).all()
    assert all(NOTE not in f"{a} {e}" for a, e in rows)
    assert (await patient.get("/api/v1/episodes")).status_code == 401
    credentials = {"email": patient.user["email"], "password": patient.user["password"]}  # type: ignore[index]
    await patient.refresh_csrf()
    again = await patient.post("/api/v1/auth/sign-in", json=credentials)
    assert again.status_code == 401
    assert (await clinician.get(f"/api/v1/patients/{patient_id}/flags")).status_code == 404
