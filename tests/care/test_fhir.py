"""The FHIR R4 export validates against the fhir.resources R4B models and carries the whole diary."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.conftest import Api

HOSTILE = '<script>alert("x")</script> =cmd|calc'


async def fill(patient: Api) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    madrid = dt.timezone(dt.timedelta(hours=1))
    ids = {name: str(uuid.uuid4()) for name in ("cramp", "spasm", "ongoing", "flare")}
    bodies: dict[str, dict[str, Any]] = {
        "cramp": {
            "kind": "cramp",
            "started_at": (now - dt.timedelta(hours=5)).astimezone(madrid).isoformat(),
            "ended_at": (now - dt.timedelta(hours=5) + dt.timedelta(minutes=12)).astimezone(madrid).isoformat(),
            "intensity": 9,
            "body_sites": [{"site": "calf", "side": "left"}],
            "triggers": ["dehydration"],
            "own_triggers": ["long drive"],
            "note": HOSTILE,
            "treatments": [{"kind": "stretching", "relief": 2, "minutes_to_relief": 5}],
        },
        "spasm": {
            "kind": "flexor_spasm",
            "started_at": (now - dt.timedelta(hours=3)).isoformat(),
            "intensity": 4,
            "duration_seconds": 40,
            "body_sites": [{"site": "thigh", "side": "both"}],
        },
        "ongoing": {
            "kind": "clonus",
            "started_at": (now - dt.timedelta(minutes=3)).isoformat(),
            "intensity": 3,
            "ongoing": True,
            "body_sites": [{"site": "foot", "side": "right"}],
        },
        "flare": {
            "kind": "stiffness_flare",
            "started_at": (now - dt.timedelta(hours=1)).isoformat(),
            "intensity": 6,
            "body_sites": [{"site": "lower_back", "side": "middle"}],
        },
    }
    for name, body in bodies.items():
        assert (await patient.put(f"/api/v1/episodes/{ids[name]}", json=body)).status_code == 201
    day = now.date().isoformat()
    await patient.put(
        f"/api/v1/checkins/{day}", json={"no_episodes": False, "pain": 4, "stiffness": 6, "sleep_disturbance": 2}
    )
    iso = now.date().isocalendar()
    await patient.put(f"/api/v1/penn/{iso.year}-W{iso.week:02d}", json={"frequency": 3, "severity": 2})
    await patient.put(
        f"/api/v1/regimens/{uuid.uuid4()}",
        json={
            "kind": "antispasmodic",
            "name": "Baclofen",
            "dose": "10 mg",
            "schedule": "three times a day",
            "start_date": day,
        },
    )
    await patient.put(
        f"/api/v1/regimens/{uuid.uuid4()}", json={"kind": "physiotherapy", "name": "Weekly physio", "start_date": day}
    )
    return ids


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


async def test_the_fhir_bundle_validates_and_holds_every_record(patient: Api) -> None:
    ids = await fill(patient)
    response = await patient.get("/api/v1/export/fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    data = response.json()
    bundle = Bundle.model_validate(data)  # raises if any resource breaks the R4B models
    assert bundle.type == "collection"
    assert len(resources(data, "Patient")) == 1
    symptoms = {o["id"]: o for o in resources(data, "Observation") if o["code"]["coding"][0]["code"] == "75325-1"}
    assert set(symptoms) == {f"episode-{i}" for i in ids.values()}
    cramp = symptoms[f"episode-{ids['cramp']}"]
    assert cramp["valueCodeableConcept"]["coding"][0]["code"] == "55300003"
    assert cramp["effectivePeriod"]["start"].endswith("+01:00")
    assert cramp["note"][0]["text"] == HOSTILE  # data, not markup: JSON carries it as it was typed
    assert {c["code"]["coding"][0]["code"] for c in cramp["component"]} >= {"intensity-nrs", "100752-5", "100753-3"}
    assert symptoms[f"episode-{ids['ongoing']}"]["status"] == "preliminary"
    assert symptoms[f"episode-{ids['flare']}"]["valueCodeableConcept"]["coding"][0]["code"] == "221360009"
    pain = [o for o in resources(data, "Observation") if o["code"]["coding"][0]["code"] == "72514-3"]
    assert [p["valueInteger"] for p in pain] == [4]
    assert [m["medicationCodeableConcept"]["text"] for m in resources(data, "MedicationStatement")] == ["Baclofen"]
    assert [c["title"] for c in resources(data, "CarePlan")] == ["Weekly physio"]
    flags = resources(data, "Flag")
    assert "U1" in {f["code"]["coding"][0]["code"] for f in flags}  # the 12-minute cramp


async def test_a_clinician_exports_fhir_only_with_the_export_scope(app: Litestar, patient: Api, browser: Any) -> None:
    await fill(patient)
    exporter: Api = await browser()
    await exporter.register("clinician")
    viewer: Api = await browser()
    await viewer.register("clinician")
    await make_link(app, patient, exporter, "active", ["view", "export"])
    await make_link(app, patient, viewer, "active", ["view"])
    url = f"/api/v1/patients/{patient.user['id']}/export/fhir"  # type: ignore[index]
    allowed = await exporter.get(url)
    assert allowed.status_code == 200
    Bundle.model_validate(allowed.json())
    assert (await viewer.get(url)).status_code == 404
