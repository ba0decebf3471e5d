"""The trend report: numbers checked against a diary worked out by hand, hostile text escaped, and the PDF renders."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import uuid
from pathlib import Path

from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.conftest import Api

HOSTILE = "<script>alert('x')</script>"


async def hand_made_diary(patient: Api) -> None:
    """14 days back: 2 episodes on each of 7 days, the same at baseline 3-4 weeks before; one 12-minute cramp."""
    madrid = dt.timezone(dt.timedelta(hours=1))
    today = dt.datetime.now(madrid).replace(hour=9, minute=0, second=0, microsecond=0)
    for days_ago in range(1, 8):  # 7 days x 2 episodes in the period, at 09:00 and 21:00 local
        for hour, intensity in ((9, 4), (21, 6)):
            start = today - dt.timedelta(days=days_ago) + dt.timedelta(hours=hour - 9)
            body = {
                "kind": "spasm",
                "started_at": start.isoformat(),
                "intensity": intensity,
                "duration_seconds": 60,
                "body_sites": [{"site": "calf", "side": "left"}],
                "triggers": ["fatigue"],
            }
            await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    for days_ago in range(15, 22):  # baseline: 7 episodes in the 28 days before the period
        start = today - dt.timedelta(days=days_ago)
        body = {
            "kind": "spasm",
            "started_at": start.isoformat(),
            "intensity": 3,
            "duration_seconds": 30,
            "body_sites": [{"site": "thigh", "side": "right"}],
        }
        await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)
    cramp = {
        "kind": "cramp",
        "started_at": (today - dt.timedelta(days=2, hours=-3)).isoformat(),
        "intensity": 9,
        "duration_seconds": 720,
        "body_sites": [{"site": "foot", "side": "left"}],
        "note": HOSTILE,
        "treatments": [{"kind": "stretching", "relief": 2, "minutes_to_relief": 10}],
    }
    await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=cramp)
    for days_ago in range(1, 8):
        day = (today - dt.timedelta(days=days_ago)).date().isoformat()
        await patient.put(f"/api/v1/checkins/{day}", json={"no_episodes": False, "stiffness": 5, "pain": 2})


async def test_report_numbers_match_the_hand_worked_diary(app: Litestar, patient: Api, clinician: Api) -> None:
    await hand_made_diary(patient)
    url = f"/patients/{patient.user['id']}/report"  # type: ignore[index]
    assert (await clinician.client.get(url, headers={"accept": "text/html"})).status_code == 404
    await make_link(app, patient, clinician, "active", ["view", "export"])
    response = await clinician.client.get(url, params={"days": 14}, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text
    html = response.text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # Period: 14 episodes + 1 cramp = 15 in 14 days -> 7.5 a week; baseline 7 in 4 weeks -> 1.75 -> "1.8".
    assert "Episodes per week 7.5 baseline 1.8" in text
    assert "7 of 14 days logged" in text
    assert "1 over 10 min" in text
    assert "peak 9" in text
    assert "Tiredness" in text  # the fatigue trigger, by its label
    assert "U1" in html  # the 12-minute cramp's flag is listed
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert html.count("<svg") >= 4


async def test_the_pdf_is_one_page_with_the_key_numbers(
    app: Litestar, patient: Api, clinician: Api, tmp_path: Path
) -> None:
    await hand_made_diary(patient)
    await make_link(app, patient, clinician, "active", ["view", "export"])
    response = await clinician.client.get(f"/patients/{patient.user['id']}/report.pdf")  # type: ignore[index]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 5_000
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    # pdftotext comes from Debian's poppler-utils, which `make test` installs (tests/ensure-system-packages).
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Key numbers against baseline" in text
    assert "<script>alert('x')</script>" in text  # the note is shown as text, neither run nor dropped
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info  # one page for the visit


async def test_a_view_only_link_cannot_download_the_pdf(app: Litestar, patient: Api, clinician: Api) -> None:
    await make_link(app, patient, clinician, "active", ["view"])
    assert (await clinician.client.get(f"/patients/{patient.user['id']}/report.pdf")).status_code == 404  # type: ignore[index]
    assert (await clinician.client.get(f"/patients/{patient.user['id']}/report")).status_code == 200  # type: ignore[index]


async def test_flags_are_acknowledged_and_resolved_from_the_report(app: Litestar, patient: Api, clinician: Api) -> None:
    await hand_made_diary(patient)
    await make_link(app, patient, clinician, "active", ["view", "annotate"])
    url = f"/patients/{patient.user['id']}/report"  # type: ignore[index]
    page = (await clinician.client.get(url, headers={"accept": "text/html"})).text
    token = page.split('name="_csrf" value="')[1].split('"')[0]
    flag = next(
        f for f in (await clinician.get(f"/api/v1/patients/{patient.user['id']}/flags")).json() if f["rule_id"] == "U1"
    )  # type: ignore[index]
    base = f"/patients/{patient.user['id']}/flags/{flag['id']}"  # type: ignore[index]
    assert f"{base}/acknowledge" in page
    acked = await clinician.client.post(f"{base}/acknowledge", data={"_csrf": token})
    assert acked.status_code == 303
    empty = await clinician.client.post(
        f"{base}/resolve", data={"_csrf": token, "note": "  "}, headers={"accept": "text/html"}
    )
    assert empty.status_code == 422 and "say what was done" in empty.text
    done = await clinician.client.post(f"{base}/resolve", data={"_csrf": token, "note": "Phoned, <b>seen</b> today"})
    assert done.status_code == 303
    flags = (await clinician.get(f"/api/v1/patients/{patient.user['id']}/flags", params={"status": "all"})).json()  # type: ignore[index]
    resolved = next(f for f in flags if f["id"] == flag["id"])
    assert resolved["status"] == "resolved" and resolved["resolution_note"] == "Phoned, <b>seen</b> today"
    assert [h["action"] for h in resolved["history"]] == ["raised", "acknowledged", "resolved"]
