"""Sharing a diary: one-time codes that expire in 7 days, consent recorded, revocation effective on the next request,
and code guessing throttled across processes."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import update

from backend.app import create_app
from backend.care.models import CareInvitation
from tests.conftest import Api, make_settings


async def invite(patient: Api, **body: Any) -> str:
    response = await patient.post("/api/v1/care-links/invitations", json=body)
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    assert re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}", code)
    expires = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    return str(code)


async def test_a_code_links_a_clinician_once_and_records_consent(patient: Api, clinician: Api, browser: Any) -> None:
    code = await invite(patient, scopes=["view"])
    flags_url = f"/api/v1/patients/{patient.user['id']}/flags"  # type: ignore[index]
    assert (await clinician.get(flags_url)).status_code == 404
    linked = await clinician.post("/api/v1/care-links/redeem", json={"code": code.lower().replace("-", " ")})
    assert linked.status_code == 201, linked.text
    link = linked.json()
    assert link["status"] == "active" and link["scopes"] == ["view"]
    assert link["consent_version"] == "1" and link["consented_at"]
    assert (await clinician.get(flags_url)).status_code == 200
    # view only: no flag changes, no export
    assert (await clinician.get(f"/api/v1/patients/{patient.user['id']}/export/fhir")).status_code == 404  # type: ignore[index]

    second: Api = await browser()
    await second.register("clinician")
    reused = await second.post("/api/v1/care-links/redeem", json={"code": code})
    assert reused.status_code == 404 and reused.json()["code"] == "invalid-code"

    mine = (await patient.get("/api/v1/care-links")).json()
    assert [(x["clinician_id"], x["status"]) for x in mine] == [(clinician.user["id"], "active")]  # type: ignore[index]
    theirs = (await clinician.get("/api/v1/care-links")).json()
    assert [x["patient_id"] for x in theirs] == [patient.user["id"]]  # type: ignore[index]


async def test_revoking_ends_access_on_the_next_request(patient: Api, clinician: Api, other_patient: Api) -> None:
    code = await invite(patient)
    link = (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).json()
    url = f"/api/v1/patients/{patient.user['id']}/flags"  # type: ignore[index]
    assert (await clinician.get(url)).status_code == 200
    assert (await other_patient.delete(f"/api/v1/care-links/{link['id']}")).status_code == 404
    assert (await patient.delete(f"/api/v1/care-links/{link['id']}")).status_code == 204
    assert (await clinician.get(url)).status_code == 404
    assert (await patient.get("/api/v1/care-links")).json()[0]["status"] == "revoked"
    assert (await patient.delete(f"/api/v1/care-links/{link['id']}")).status_code == 204  # again: still revoked


async def test_an_expired_or_made_up_code_does_nothing(app: Litestar, patient: Api, clinician: Api) -> None:
    code = await invite(patient)
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(CareInvitation)
            .where(CareInvitation.patient_id == uuid.UUID(patient.user["id"]))  # type: ignore[index]
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        await db.commit()
    assert (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).status_code == 404
    assert (await clinician.post("/api/v1/care-links/redeem", json={"code": "ABCDE-FGHJK"})).status_code == 404
    assert (await clinician.get("/api/v1/care-links")).json() == []


async def test_only_patients_invite_and_only_clinicians_redeem(patient: Api, clinician: Api) -> None:
    assert (await clinician.post("/api/v1/care-links/invitations", json={})).status_code == 403
    code = await invite(patient)
    assert (await patient.post("/api/v1/care-links/redeem", json={"code": code})).status_code == 403
    bad = await patient.post("/api/v1/care-links/invitations", json={"scopes": ["view", "view"]})
    assert bad.status_code == 422
    unknown = await patient.post("/api/v1/care-links/invitations", json={"scopes": ["admin"]})
    assert unknown.status_code == 400


async def test_guessing_codes_is_throttled_across_processes(database_url: str) -> None:
    settings = make_settings(database_url, limit_redeem_per_hour=3)
    apps = [create_app(settings), create_app(settings)]
    api: Api | None = None
    statuses = []
    for i in range(5):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=apps[i % 2], client=("10.9.0.1", 1)),
            base_url="http://testserver.local",
            cookies=api.client.cookies if api else None,
        )
        caller = Api(client)
        if api is None:
            await caller.register("clinician")
            api = caller
        else:
            caller.csrf = api.csrf
        response = await caller.post("/api/v1/care-links/redeem", json={"code": f"ZZZZZ-ZZZZ{i + 2}"})
        statuses.append(response.status_code)
    assert statuses == [404, 404, 404, 429, 429]


async def test_the_patient_sees_who_looked_at_their_diary(patient: Api, clinician: Api) -> None:
    code = await invite(patient)
    await clinician.post("/api/v1/care-links/redeem", json={"code": code})
    await clinician.get(f"/api/v1/patients/{patient.user['id']}/flags")  # type: ignore[index]
    await clinician.get(f"/api/v1/patients/{patient.user['id']}/measures")  # type: ignore[index]
    history = (await patient.get("/api/v1/access-history")).json()
    actions = [h["action"] for h in history]
    assert actions[:3] == ["measures.read", "flags.read", "care-link.redeem"]
    assert {h["who"] for h in history[:3]} == {"Test clinician"}
    assert all(h["role"] == "clinician" for h in history[:3])
    assert (await clinician.get("/api/v1/access-history")).status_code == 403


async def test_the_code_comes_with_a_qr_code(patient: Api) -> None:
    response = await patient.post("/api/v1/care-links/invitations", json={})
    svg = response.json()["qr_svg"]
    assert svg.startswith("<svg") and response.json()["code"] in svg  # the title names the code


async def test_a_patient_accepts_a_clinicians_code_choosing_the_scopes(
    patient: Api, clinician: Api, other_patient: Api
) -> None:
    offered = await clinician.post("/api/v1/care-links/offers")
    assert offered.status_code == 201 and offered.json()["qr_svg"].startswith("<svg")
    code = offered.json()["code"]
    assert (await patient.post("/api/v1/care-links/offers")).status_code == 403
    accepted = await patient.post("/api/v1/care-links/accept", json={"code": code, "scopes": ["view"]})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["scopes"] == ["view"] and accepted.json()["clinician_id"] == clinician.user["id"]  # type: ignore[index]
    assert (await clinician.get(f"/api/v1/patients/{patient.user['id']}/flags")).status_code == 200  # type: ignore[index]
    again = await other_patient.post("/api/v1/care-links/accept", json={"code": code, "scopes": ["view"]})
    assert again.status_code == 404  # one use only
    assert (
        await clinician.post("/api/v1/care-links/accept", json={"code": code, "scopes": ["view"]})
    ).status_code == 403
