"""The access-control matrix: every API route, called by every kind of caller.

Callers: anonymous, the patient who owns the data, another patient, and clinicians whose care link with the patient
is active with all scopes, active with "view" only, pending, revoked, or missing. Someone else's data answers 404 with
exactly the body a missing record gets (ASVS 8.2.2; Medplum's compartment rule), patients get 403 on clinician routes
and clinicians 403 on patient routes, and nobody signed out gets anything but 401.

Routes are enumerated from the application itself, so a new route is covered (or fails here) automatically.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from litestar import Litestar

from backend.shared.access import CareLink
from tests.conftest import Api

PUBLIC = {
    "/healthz",
    "/readyz",
    "/api/v1/catalog",
    "/api/v1/rules",
    "/api/v1/auth/session",
    "/api/v1/auth/register",
    "/api/v1/auth/sign-in",
    "/api/v1/auth/sign-out",
    "/api/v1/push/key",
    # the second step and a forgotten password: for people who are not signed in (yet)
    "/api/v1/auth/sign-in/code",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/complete",
}
# The routes whose body would erase or sign out the caller: exercised by their own tests, not by the matrix.
SELF_ENDING = {("DELETE", "/api/v1/account")}
FUTURE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()


@dataclass
class World:
    owner: Api
    other: Api
    anonymous: Api
    clinicians: dict[str, Api]
    episode_id: str
    regimen_id: str
    flag_id: str
    day: str
    week: str
    appointment_id: str


async def make_link(app: Litestar, patient: Api, clinician: Api, status: str, scopes: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    async with app.state.sessionmaker() as db:
        db.add(
            CareLink(
                patient_id=uuid.UUID(patient.user["id"]),
                clinician_id=uuid.UUID(clinician.user["id"]),  # type: ignore[index]
                status=status,
                scopes=scopes,
                consent_version="1",
                consented_at=now if status != "pending" else None,
                revoked_at=now if status == "revoked" else None,
                created_at=now,
            )
        )
        await db.commit()


@pytest_asyncio.fixture(loop_scope="session")
async def world(app: Litestar, browser: Any) -> World:
    owner: Api = await browser()
    await owner.register("patient")
    other: Api = await browser()
    await other.register("patient")
    anonymous: Api = await browser()
    await anonymous.refresh_csrf()
    clinicians: dict[str, Api] = {}
    for kind, status, scopes in [
        ("linked", "active", ["view", "annotate", "notify", "export"]),
        ("view-only", "active", ["view"]),
        ("pending", "pending", ["view", "annotate", "notify", "export"]),
        ("revoked", "revoked", ["view", "annotate", "notify", "export"]),
        ("unlinked", None, []),
    ]:
        api: Api = await browser()
        await api.register("clinician")
        if status:
            await make_link(app, owner, api, status, scopes)
        clinicians[kind] = api
    episode_id, regimen_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    created = await owner.put(
        f"/api/v1/episodes/{episode_id}",
        json={
            "kind": "cramp",
            "started_at": start,
            "intensity": 8,
            "duration_seconds": 1200,
            "body_sites": [{"site": "calf", "side": "left"}],
            "note": "owner-secret",
        },
    )
    assert created.status_code == 201
    day = dt.date.today().isoformat()
    iso = dt.date.today().isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    await owner.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "note": "owner-secret"})
    await owner.put(f"/api/v1/penn/{week}", json={"frequency": 1, "severity": 1})
    await owner.put(f"/api/v1/regimens/{regimen_id}", json={"kind": "heat", "name": "owner-secret", "start_date": day})
    flags = (await owner.get("/api/v1/flags")).json()
    appointment = await clinicians["linked"].post(
        f"/api/v1/patients/{owner.user['id']}/appointments",  # type: ignore[index]
        json={"starts_at": FUTURE, "place": "owner-secret"},
    )
    assert appointment.status_code == 201, appointment.text
    return World(
        owner, other, anonymous, clinicians, episode_id, regimen_id, flags[0]["id"], day, week, appointment.json()["id"]
    )


def api_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not route.path.startswith("/api/"):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return found


def role_of(app: Litestar, method: str, path: str) -> str:
    """Who a route is for, read from its handler: "patient", "clinician", "anyone signed in" or "public"."""
    for route in app.routes:
        if route.path != path:
            continue
        for handler in getattr(route, "route_handlers", []):
            if method in handler.http_methods:
                parameters = handler.parsed_fn_signature.parameters
                for role in ("patient", "clinician"):
                    if role in parameters:
                        return role
                return "anyone signed in" if "principal" in parameters else "public"
    raise AssertionError(f"no handler for {method} {path}")


def fill(path: str, world: World, *, patient_id: str) -> str:
    values = {
        "patient_id": patient_id,
        "episode_id": world.episode_id,
        "regimen_id": world.regimen_id,
        "flag_id": world.flag_id,
        "day": world.day,
        "week": world.week,
        "rule_id": "U1",
        "link_id": str(uuid.uuid4()),
        "reminder_id": str(uuid.uuid4()),
        "appointment_id": world.appointment_id,
        "slot": f"{world.day}T08:00",
        "dose_id": str(uuid.uuid4()),
    }
    return re.sub(r"\{(\w+):?\w*\}", lambda m: values[m.group(1)], path)


def body_for(method: str, path: str) -> dict[str, Any] | None:
    if method not in {"PUT", "POST"}:
        return None
    if path.endswith("/resolve"):
        return {"note": "checked"}
    if path.startswith("/api/v1/reminders/") and path.endswith("/snooze"):
        return {"minutes": 30}
    if path.endswith("/appointments"):
        return {"starts_at": FUTURE}
    if path.endswith("/snooze"):
        return {"until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()}
    if "/thresholds/" in path:
        return {"thresholds": {"minutes": 12}}
    if path.endswith("/ashworth"):
        return {
            "muscle_group": "knee_flexors",
            "side": "left",
            "grade": "1+",
            "assessed_on": dt.date.today().isoformat(),
        }
    return {}


async def call(api: Api, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return await api.request(method, url)
    return await api.request(method, url, json=body)


async def test_every_api_route_is_closed_to_anonymous_callers(app: Litestar, world: World) -> None:
    owner_id = world.owner.user["id"]  # type: ignore[index]
    checked = 0
    for method, path in api_routes(app):
        if path in PUBLIC or (method, path) in SELF_ENDING:
            continue
        url = fill(path, world, patient_id=owner_id)
        response = await call(world.anonymous, method, url, body_for(method, path))
        assert response.status_code == 401, (method, url, response.status_code, response.text)
        assert "owner-secret" not in response.text
        checked += 1
    assert checked >= 25


async def test_patient_routes_see_only_the_callers_own_diary(app: Litestar, world: World) -> None:
    owner_id = world.owner.user["id"]  # type: ignore[index]
    patient_routes = [
        (m, p) for m, p in api_routes(app) if role_of(app, m, p) == "patient" and (m, p) not in SELF_ENDING
    ]
    assert len(patient_routes) >= 15
    for method, path in patient_routes:
        url = fill(path, world, patient_id=owner_id)
        body = body_for(method, path)
        as_other = await call(world.other, method, url, body)
        assert "owner-secret" not in as_other.text, (method, url)
        if "{" in path and method == "GET":
            assert as_other.status_code == 404, (method, url, as_other.status_code)
        for clinician in world.clinicians.values():
            as_clinician = await call(clinician, method, url, body)
            assert "owner-secret" not in as_clinician.text, (method, url)
            assert as_clinician.status_code == 403, (method, url, as_clinician.status_code)
    mine = await world.owner.get(f"/api/v1/episodes/{world.episode_id}")
    assert mine.status_code == 200 and mine.json()["note"] == "owner-secret"


async def test_clinician_only_routes_refuse_patients(app: Litestar, world: World) -> None:
    routes = [(m, p) for m, p in api_routes(app) if role_of(app, m, p) == "clinician"]
    assert any("/patients/" not in p for _, p in routes)  # e.g. redeeming a code
    for method, path in routes:
        url = fill(path, world, patient_id=world.owner.user["id"])  # type: ignore[index]
        response = await call(world.owner, method, url, body_for(method, path))
        assert response.status_code == 403, (method, url, response.status_code)


async def test_routes_for_anyone_signed_in_show_only_the_callers_own_data(app: Litestar, world: World) -> None:
    routes = [(m, p) for m, p in api_routes(app) if role_of(app, m, p) == "anyone signed in" and m == "GET"]
    assert routes
    for method, path in routes:
        for caller in (world.other, *world.clinicians.values()):
            response = await call(caller, method, fill(path, world, patient_id=str(uuid.uuid4())), None)
            assert response.status_code == 200, (method, path)
            assert "owner-secret" not in response.text and world.owner.user["email"] not in response.text  # type: ignore[index]


async def test_someone_elses_record_answers_exactly_like_a_missing_one(world: World) -> None:
    for template in ("/api/v1/episodes/{}", "/api/v1/regimens/{}"):
        theirs = await world.other.get(
            template.format(world.episode_id if "episodes" in template else world.regimen_id)
        )
        missing = await world.other.get(template.format(uuid.uuid4()))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
    theirs = await world.clinicians["unlinked"].get(f"/api/v1/patients/{world.owner.user['id']}/flags")  # type: ignore[index]
    missing = await world.clinicians["unlinked"].get(f"/api/v1/patients/{uuid.uuid4()}/flags")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


# Which scope each clinician route needs (writes to flags and thresholds need "annotate").
def needed_scope(method: str, path: str) -> str:
    if "/export" in path:
        return "export"
    if path.endswith("/reviewed"):
        return "view"
    if "/appointments" in path and method != "GET":
        return "notify"
    return "view" if method == "GET" else "annotate"


async def test_clinician_routes_follow_the_care_link_and_its_scopes(app: Litestar, world: World) -> None:
    owner_id = world.owner.user["id"]  # type: ignore[index]
    clinician_routes = [(m, p) for m, p in api_routes(app) if "/patients/" in p]
    assert len(clinician_routes) >= 6
    for method, path in clinician_routes:
        url = fill(path, world, patient_id=owner_id)
        body = body_for(method, path)
        for kind, clinician in world.clinicians.items():
            response = await call(clinician, method, url, body)
            allowed = kind == "linked" or (kind == "view-only" and needed_scope(method, path) == "view")
            if allowed:
                assert response.status_code < 400 or response.status_code == 409, (kind, method, url, response.text)
            else:
                assert response.status_code == 404, (kind, method, url, response.status_code)
                assert "owner-secret" not in response.text
        as_patient = await call(world.owner, method, url, body)
        assert as_patient.status_code == 403, (method, url)
        as_other = await call(world.other, method, url, body)
        assert as_other.status_code == 403, (method, url)


async def test_revoking_a_link_ends_access_on_the_next_request(app: Litestar, world: World, browser: Any) -> None:
    clinician: Api = await browser()
    await clinician.register("clinician")
    await make_link(app, world.owner, clinician, "active", ["view"])
    url = f"/api/v1/patients/{world.owner.user['id']}/flags"  # type: ignore[index]
    assert (await clinician.get(url)).status_code == 200
    async with app.state.sessionmaker() as db:
        link = await db.execute(
            CareLink.__table__.update()
            .where(CareLink.clinician_id == uuid.UUID(clinician.user["id"]))  # type: ignore[index]
            .values(status="revoked", revoked_at=dt.datetime.now(dt.UTC))
        )
        assert link.rowcount == 1
        await db.commit()
    assert (await clinician.get(url)).status_code == 404
