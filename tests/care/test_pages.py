"""The sharing pages (backend/care/pages.py): a code for a clinician, a clinician's code accepted, stopping, who looked."""

from __future__ import annotations

import base64
import html
import re
import uuid
from typing import Any

from tests.conftest import Api
from tests.support.pages import (
    HTML,
    UUID,
    alert_items,
    page,
    submit,
)

# ---- sharing ---------------------------------------------------------------------------------------------------------


async def named_clinician(browser: Any) -> Api:
    api: Api = await browser()
    await api.register("clinician", display_name=f"Dr Pages {uuid.uuid4().hex[:6]}")
    return api


def sharing_rows(text: str) -> list[tuple[str, str]]:
    """(clinician name, link id) of each row of the sharing list."""
    return re.findall(rf'<li><strong>([^<]*)</strong>.*?action="/sharing/({UUID})/revoke"', text, re.S)


async def test_sharing_by_code_then_stopping_it(browser: Any, patient: Api) -> None:
    clinician = await named_clinician(browser)
    name = clinician.user["display_name"]  # type: ignore[index]
    patient_id = patient.user["id"]  # type: ignore[index]
    empty = await page(patient, "/sharing")
    assert empty.status_code == 200
    assert "Nobody. Your diary is private until you share it." in empty.text

    made = await submit(patient, "/sharing/code", {"scopes": ["annotate"]})
    assert made.status_code == 200, made.text
    code = re.search(r'<p class="big-code">([^<]+)</p>', made.text)
    assert code is not None
    assert re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}", code.group(1))
    qr = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', made.text)
    assert qr is not None
    assert b"<svg" in base64.b64decode(qr.group(1))

    redeemed = await clinician.post("/api/v1/care-links/redeem", json={"code": code.group(1)})
    assert redeemed.status_code == 201, redeemed.text
    link = redeemed.json()
    assert link["scopes"] == ["view", "annotate"]
    report = f"/patients/{patient_id}/report"
    assert (await clinician.client.get(report, headers=HTML)).status_code == 200
    assert (await clinician.get(f"/api/v1/patients/{patient_id}/flags")).status_code == 200

    listed = await page(patient, "/sharing")
    assert sharing_rows(listed.text) == [(html.escape(name), link["id"])]
    history = await page(patient, "/sharing/history")
    assert history.status_code == 200
    cells = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", history.text)
    assert cells and all(who == html.escape(name) for who, _ in cells), cells
    assert "Nobody has looked at your diary yet." not in history.text

    stopped = await submit(patient, f"/sharing/{link['id']}/revoke", {})
    assert stopped.status_code == 200
    assert "Sharing stopped. They can no longer see your diary." in stopped.text
    assert sharing_rows(stopped.text) == []
    assert (await clinician.client.get(report, headers=HTML)).status_code == 404
    assert (await clinician.get(f"/api/v1/patients/{patient_id}/flags")).status_code == 404
    assert [x["status"] for x in (await patient.get("/api/v1/care-links")).json()] == ["revoked"]


async def test_a_fresh_access_history_says_nobody_looked(patient: Api) -> None:
    response = await page(patient, "/sharing/history")
    assert "Nobody has looked at your diary yet." in response.text
    assert "<table>" not in response.text


async def test_accepting_a_clinicians_code(browser: Any, patient: Api) -> None:
    clinician = await named_clinician(browser)
    offer = await clinician.post("/api/v1/care-links/offers")
    assert offer.status_code == 201, offer.text
    empty = await submit(patient, "/sharing/accept", {"code": "  "})
    assert empty.status_code == 422 and alert_items(empty.text) == ["Type the code first."]
    wrong = await submit(patient, "/sharing/accept", {"code": "ABCDE-FGHJK"})
    assert wrong.status_code == 404 and "not valid" in alert_items(wrong.text)[0]
    assert (await patient.get("/api/v1/care-links")).json() == []
    done = await submit(patient, "/sharing/accept", {"code": offer.json()["code"]})
    assert done.status_code == 200, done.text
    assert "Done: your clinician can now see your diary." in done.text
    assert [n for n, _ in sharing_rows(done.text)] == [html.escape(clinician.user["display_name"])]  # type: ignore[index]


async def test_a_patient_cannot_stop_another_patients_sharing(browser: Any, patient: Api, other_patient: Api) -> None:
    clinician = await named_clinician(browser)
    made = await submit(patient, "/sharing/code", {})
    code = re.search(r'<p class="big-code">([^<]+)</p>', made.text).group(1)  # type: ignore[union-attr]
    link = (await clinician.post("/api/v1/care-links/redeem", json={"code": code})).json()
    assert link["scopes"] == ["view"]
    response = await submit(other_patient, f"/sharing/{link['id']}/revoke", {})
    assert response.status_code == 404
    assert [x["status"] for x in (await patient.get("/api/v1/care-links")).json()] == ["active"]
