"""The clinician's home in the browser without script (backend/home/clinician_pages.py, backend/care/pages.py): the
code field, the offer code, the empty list's two ways, the triage figures in words, review marks and their undo,
Modified Ashworth grades."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.care.test_triage import log, patient_named
from tests.conftest import Api
from tests.support.pages import page, submit


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_an_empty_list_explains_the_two_ways_and_a_patients_code_links_them(browser: Any, patient: Api) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    home = await page(doctor, "/")
    assert home.status_code == 200
    assert "There are two ways to link a patient" in home.text
    assert 'action="/clinician/redeem"' in home.text and 'action="/clinician/offer"' in home.text

    wrong = await submit(doctor, "/clinician/redeem", {"code": "22222-22222"})
    assert wrong.status_code == 303
    shown = await page(doctor, wrong.headers["location"])
    assert "This code is not valid" in shown.text and 'aria-invalid="true"' in shown.text

    code = (await patient.post("/api/v1/care-links/invitations", json={"scopes": ["view"]})).json()["code"]
    linked = await submit(doctor, "/clinician/redeem", {"code": code.lower()})
    assert linked.status_code == 303 and linked.headers["location"] == f"/?linked={patient.user['id']}"  # type: ignore[index]
    after = await page(doctor, linked.headers["location"])
    assert f'href="/patients/{patient.user["id"]}/report"' in after.text  # type: ignore[index]
    assert "shared their diary with you" in after.text
    assert "two ways to link" not in after.text


async def test_the_clinicians_own_code_is_shown_once_and_a_patient_accepts_it(browser: Any, patient: Api) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    made = await submit(doctor, "/clinician/offer", {})
    assert made.status_code == 200
    code = re.search(r'<p class="big-code">([^<]+)</p>', made.text)
    assert code is not None
    accepted = await patient.post("/api/v1/care-links/accept", json={"code": code.group(1), "scopes": ["view"]})
    assert accepted.status_code == 201
    assert "two ways to link" not in (await page(doctor, "/")).text


async def test_triage_figures_say_their_window_and_direction_in_english_and_spanish(
    app: Litestar, browser: Any
) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    busy = await patient_named(browser, "Busy")
    await make_link(app, busy, doctor, "active", ["view"])
    for d in range(1, 7):  # 6 in the last 7 days (not today), 2 in the 4 weeks before: 0.5 a week -> up 12x
        await log(busy, d)
    for d in (10, 20):
        await log(busy, d)
    week = text_of((await page(doctor, "/?days=7")).text)
    assert "6 episodes in the last 7 days, 0.5 a week in the 4 weeks before: up 12×" in week
    month = text_of((await page(doctor, "/?days=30")).text)
    # 8 in the last 30 days (1.9 a week); none in the 28 days before.
    assert "8 episodes in the last 30 days (1.9 a week): new: none in the 4 weeks before" in month
    spanish = text_of((await page(doctor, "/?days=7", **{"accept-language": "es-ES"})).text)
    assert "6 episodios en los últimos 7 días, 0,5 a la semana en las 4 semanas anteriores: 12 veces más" in spanish
    assert "Mis pacientes" in spanish
    sparkline = re.search(r'<svg width="(\d+)"[^>]*class="sparkline"', week)
    assert sparkline is None  # the text view holds no markup; the markup is checked below
    raw = (await page(doctor, "/?days=7")).text
    assert re.search(r'<svg width="\d+" height="\d+"[^>]*class="sparkline"', raw)
    assert all(int(px) >= 11 for px in re.findall(r'font-size="(\d+)"', raw))


async def test_a_mark_says_who_and_when_and_only_its_author_undoes_it(app: Litestar, browser: Any) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician", display_name="Dr Mark")
    other: Api = await browser()
    await other.register("clinician", display_name="Dr Other")
    someone = await patient_named(browser, "Someone")
    for c in (doctor, other):
        await make_link(app, someone, c, "active", ["view"])
    pid = someone.user["id"]  # type: ignore[index]
    done = await submit(doctor, f"/patients/{pid}/reviewed", {"days": "14", "sort": "name"})
    assert done.status_code == 303 and done.headers["location"].startswith("/?reviewed=1&days=14&sort=name")
    mine = text_of((await page(doctor, "/")).text)
    assert "Reviewed by Dr Mark on" in mine and "Undo my mark" in mine
    theirs = (await page(other, "/")).text
    assert "Reviewed by Dr Mark on" in text_of(theirs) and "Undo my mark" not in theirs
    refused = await submit(other, f"/patients/{pid}/reviewed/undo", {})
    assert refused.status_code == 409
    undone = await submit(doctor, f"/patients/{pid}/reviewed/undo", {})
    assert undone.status_code == 303
    after = text_of((await page(doctor, undone.headers["location"])).text)
    assert "Your review mark was undone." in after and "Not reviewed yet" in after


async def test_ashworth_1_plus_is_recorded_and_a_future_date_is_refused(
    app: Litestar, browser: Any, patient: Api
) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician", display_name="Dr Tone")
    await make_link(app, patient, doctor, "active", ["view", "annotate"])
    url = f"/patients/{patient.user['id']}/ashworth"  # type: ignore[index]
    form = {"muscle_group": "elbow_flexors", "side": "left", "grade": "1+", "assessed_on": "2999-01-01"}
    refused = await submit(doctor, url, form)
    assert refused.status_code == 422 and "is in the future" in refused.text
    assert 'value="1+" required checked' in refused.text  # what was typed is kept
    assert "No grade recorded yet." in refused.text
    saved = await submit(doctor, url, {**form, "assessed_on": "2026-01-05"})
    assert saved.status_code == 303
    history = text_of((await page(doctor, saved.headers["location"])).text)
    assert "5 Jan 2026 Elbow flexors Left 1+ Dr Tone" in history


async def test_every_clinician_page_is_audited_and_a_view_only_link_offers_no_download(
    app: Litestar, browser: Any, patient: Api
) -> None:
    from sqlalchemy import select

    from backend.shared.audit import AuditEvent

    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ["view"])
    pid = patient.user["id"]  # type: ignore[index]
    await log(patient, 1, duration_seconds=15 * 60)  # U1
    flag = (await doctor.get(f"/api/v1/patients/{pid}/flags")).json()[0]
    report = await page(doctor, f"/patients/{pid}/report")
    assert "The patient has not allowed export" in report.text and "/export/csv" not in report.text
    for path in (
        "/",
        f"/patients/{pid}/flags/{flag['id']}",
        f"/patients/{pid}/episodes/{flag['evidence_episodes'][0]}",
        f"/patients/{pid}/thresholds",
        f"/patients/{pid}/ashworth",
    ):
        assert (await page(doctor, path)).status_code == 200, path
    assert (await doctor.get(f"/api/v1/patients/{pid}/export/csv")).status_code == 404
    async with app.state.sessionmaker() as db:
        rows = await db.execute(
            select(AuditEvent.action, AuditEvent.outcome).where(
                AuditEvent.patient_id == uuid.UUID(pid),
                AuditEvent.actor_id == uuid.UUID(doctor.user["id"]),  # type: ignore[index]
            )
        )
        seen = {(action, outcome) for action, outcome in rows.all()}
    for action in ("report.read", "triage.read", "flags.read", "diary.read", "thresholds.read", "ashworth.read"):
        assert (action, "success") in seen, (action, seen)
    assert ("export.csv", "success") not in seen


async def test_the_list_sorts_by_links_and_keeps_its_window(app: Litestar, browser: Any) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    quiet = await patient_named(browser, "Aaron Quiet")
    rising = await patient_named(browser, "Zoe Rising")
    for p in (quiet, rising):
        await make_link(app, p, doctor, "active", ["view"])
    for d in (1, 2, 3, 4):  # 4 in the last week against none before: new
        await log(rising, d)
    await log(quiet, 2)
    for d in (10, 17, 24):
        await log(quiet, d)

    def order(html: str) -> list[str]:
        return re.findall(r'<th scope="row"><a href="/patients/[^"]+/report">([^<]+)</a>', html)

    by_name = await page(doctor, "/?days=14&sort=name")
    assert order(by_name.text) == ["Aaron Quiet", "Zoe Rising"]
    assert 'aria-sort="ascending"' in by_name.text
    assert 'href="/?days=14&amp;sort=change"' in by_name.text  # the other orders keep the window
    by_change = await page(doctor, "/?days=14&sort=change")
    assert order(by_change.text) == ["Zoe Rising", "Aaron Quiet"]
    assert 'aria-current="page">Last 14 days' in by_change.text
    assert order((await page(doctor, "/?sort=nonsense")).text) == order((await page(doctor, "/")).text)
