"""The clinician's report as a workspace (backend/reports/pages.py, evidence_pages.py, flags/clinician_pages.py):
times on the patient's clock with the zone named, the entries behind a flag and each entry's record, snooze and
resolve from the page, the thresholds page refusing an out-of-range value and changing nothing, Penn ratings in
words, the treatment-response line naming the figure it is judged on, and the same in Spanish."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar

from tests.care.test_access_matrix import make_link
from tests.conftest import Api
from tests.support.pages import MADRID, page, submit

ALL = ["view", "annotate", "notify", "export"]


def text_of(html: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def a_noted_cramp(patient: Api) -> tuple[str, dt.datetime]:
    """A 12-minute cramp (U1) yesterday at 03:45 on the patient's Madrid clock, with a note."""
    yesterday = (dt.datetime.now(MADRID) - dt.timedelta(days=1)).replace(hour=3, minute=45, second=0, microsecond=0)
    episode_id = str(uuid.uuid4())
    body = {
        "kind": "cramp",
        "started_at": yesterday.isoformat(),
        "intensity": 8,
        "duration_seconds": 720,
        "body_sites": [{"site": "calf", "side": "left"}],
        "triggers": ["fatigue"],
        "treatments": [{"kind": "stretching", "relief": 6}],
        "note": "Woke me at night",
    }
    assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201
    return episode_id, yesterday


async def test_report_times_are_the_patients_and_a_flag_opens_its_entries(
    app: Litestar, browser: Any, patient: Api
) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician", display_name="Dr Clock")
    await make_link(app, patient, doctor, "active", ALL)
    episode_id, when = await a_noted_cramp(patient)
    pid = patient.user["id"]  # type: ignore[index]
    report = await page(doctor, f"/patients/{pid}/report")
    assert report.status_code == 200
    words = text_of(report.text)
    assert "Every time is the patient's local time: Spain (Madrid) Time (Europe/Madrid)." in words
    day = f"{when.day} {when.strftime('%b')} {when.year}"
    assert f"{day}, 03:45 {when.tzname()} Woke me at night" in words  # the note, on the patient's clock
    assert f'href="/api/v1/patients/{pid}/export/csv"' in report.text
    flag = next(f for f in (await doctor.get(f"/api/v1/patients/{pid}/flags")).json() if f["rule_id"] == "U1")
    behind = await page(doctor, f"/patients/{pid}/flags/{flag['id']}")
    assert behind.status_code == 200
    row = text_of(behind.text)
    assert f"{day} 03:45 {when.tzname()} Cramp 8 12 minutes Calf (left) Tiredness Stretching, relief 6 of 10" in row
    assert "An urgent flag cannot be snoozed" in row
    record = text_of((await page(doctor, f"/patients/{pid}/episodes/{episode_id}?flag={flag['id']}")).text)
    assert f"Started {day}, 03:45 {when.tzname()}" in record and "Note Woke me at night" in record

    resolved = await submit(
        doctor, f"/patients/{pid}/flags/{flag['id']}/resolve", {"note": "Phoned: stretching helps", "back": "flag"}
    )
    assert resolved.status_code == 303 and resolved.headers["location"] == f"/patients/{pid}/flags/{flag['id']}"
    after = text_of((await page(doctor, resolved.headers["location"])).text)
    assert "Resolved by Dr Clock on" in after and "“Phoned: stretching helps”" in after
    assert "resolved by Dr Clock: “Phoned: stretching helps”" in after  # the history, with who acted


async def test_a_routine_flag_is_snoozed_and_an_urgent_one_cannot_be(app: Litestar, browser: Any, patient: Api) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    await a_noted_cramp(patient)
    madrid_today = dt.datetime.now(MADRID).replace(hour=12, minute=0, second=0, microsecond=0)
    for days_ago in (1, 2):  # two severe episodes in 14 days: R3 (routine)
        body = {"kind": "spasm", "started_at": (madrid_today - dt.timedelta(days=days_ago)).isoformat(), "intensity": 9}
        await patient.put(
            f"/api/v1/episodes/{uuid.uuid4()}", json=body | {"body_sites": [{"site": "calf", "side": "left"}]}
        )
    await app.state.evaluator.drain()
    pid = patient.user["id"]  # type: ignore[index]
    flags = {f["rule_id"]: f for f in (await doctor.get(f"/api/v1/patients/{pid}/flags")).json()}
    urgent = await submit(doctor, f"/patients/{pid}/flags/{flags['U1']['id']}/snooze", {"days": "7"})
    assert urgent.status_code == 409 and "Urgent flags cannot be snoozed" in urgent.text
    snoozed = await submit(doctor, f"/patients/{pid}/flags/{flags['R3']['id']}/snooze", {"days": "14"})
    assert snoozed.status_code == 303
    now = {f["rule_id"]: f for f in (await doctor.get(f"/api/v1/patients/{pid}/flags")).json()}
    assert now["R3"]["status"] == "snoozed" and now["U1"]["status"] == "open"
    until = dt.datetime.fromisoformat(now["R3"]["snoozed_until"])
    assert dt.timedelta(days=13, hours=23) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=14)


async def test_thresholds_show_words_defaults_ranges_and_refuse_out_of_range(
    app: Litestar, browser: Any, patient: Api
) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    pid = patient.user["id"]  # type: ignore[index]
    shown = text_of((await page(doctor, f"/patients/{pid}/thresholds")).text)
    assert "R3 · Severe episodes" in shown
    assert "severe episodes needed 2 from 1 to 20 (whole numbers)" in shown
    refused = await submit(doctor, f"/patients/{pid}/thresholds/R3", {"count": "50", "days": "14", "intensity": "7"})
    assert refused.status_code == 422
    said = text_of(refused.text)
    assert (
        "count (severe episodes needed) must be a whole number from 1 to 20" in said and "Nothing was changed." in said
    )
    assert 'value="50"' in refused.text  # what was typed is kept to correct
    assert (await doctor.get(f"/api/v1/patients/{pid}/flags")).status_code == 200
    async with app.state.sessionmaker() as db:
        from backend.flags.models import ThresholdOverride

        assert await db.get(ThresholdOverride, (uuid.UUID(pid), "R3")) is None
    saved = await submit(doctor, f"/patients/{pid}/thresholds/R3", {"count": "3", "days": "14", "intensity": "7"})
    assert saved.status_code == 303
    again = await page(doctor, saved.headers["location"])
    assert 'name="count" value="3"' in again.text and "Saved. The flags follow the new values." in again.text


async def test_a_follow_up_typed_at_1030_patient_time_reads_1030(app: Litestar, browser: Any, patient: Api) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    pid = patient.user["id"]  # type: ignore[index]
    day = (dt.datetime.now(MADRID) + dt.timedelta(days=10)).date()
    made = await submit(doctor, f"/patients/{pid}/appointments", {"starts_at": f"{day.isoformat()}T10:30"})
    assert made.status_code == 303
    words = text_of((await page(doctor, made.headers["location"])).text)
    zone = dt.datetime.combine(day, dt.time(10, 30), MADRID).tzname()
    assert f"{day.day} {day.strftime('%b')} {day.year}, 10:30 {zone}" in words


async def test_penn_in_words_and_the_report_in_spanish(app: Litestar, browser: Any, patient: Api) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    pid = patient.user["id"]  # type: ignore[index]
    week = dt.date.today().isocalendar()
    assert (
        await patient.put(f"/api/v1/penn/{week.year}-W{week.week:02d}", json={"frequency": 2, "severity": 2})
    ).status_code in {200, 201}
    words = text_of((await page(doctor, f"/patients/{pid}/report")).text)
    assert "frequency 2, infrequent full spasms, less than once an hour; severity moderate" in words
    spanish = text_of((await page(doctor, f"/patients/{pid}/report", **{"accept-language": "es"})).text)
    assert "Cifras clave frente a la línea base" in spanish
    assert "hora de España (Madrid)" in spanish


async def a_treated_month(patient: Api) -> None:
    """Baclofen started 30 days ago; 3 episodes a day (fatigue, heat) in the 14 days before, 1 a day since; stiffness
    5 before and about 4.8 since (a few per cent better: no meaningful response on stiffness, though the episodes fell by two thirds);
    medicines all taken on odd days back, some on even ones: 14 + 13 halves over the 27 answered days = 76%."""
    today = dt.datetime.now(MADRID).replace(hour=10, minute=0, second=0, microsecond=0)
    start = (today - dt.timedelta(days=30)).date()
    plan = {"kind": "muscle_relaxant", "name": "Baclofen", "dose": "10 mg", "start_date": start.isoformat()}
    assert (await patient.put(f"/api/v1/regimens/{uuid.uuid4()}", json=plan)).status_code in {200, 201}
    for days_ago in range(1, 45):
        day = today - dt.timedelta(days=days_ago)
        before = day.date() < start
        for i in range(3 if before else 1):
            body = {
                "kind": "spasm",
                "started_at": (day + dt.timedelta(hours=i)).isoformat(),
                "intensity": 5,
                "duration_seconds": 60,
                "body_sites": [{"site": "calf", "side": "left"}],
                "triggers": ["fatigue", "heat"] if i == 0 else ["fatigue"],
            }
            assert (await patient.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body)).status_code == 201
        checkin: dict[str, Any] = {"no_episodes": False, "stiffness": 4 if not before and days_ago % 5 == 0 else 5}
        if days_ago <= 28:
            checkin["meds_taken"] = "all" if days_ago % 2 else "some"
        assert (await patient.put(f"/api/v1/checkins/{day.date().isoformat()}", json=checkin)).status_code in {200, 201}


async def test_the_pdf_has_the_plan_adherence_triggers_response_calendar_and_zone(
    app: Litestar, browser: Any, patient: Api, tmp_path: Any
) -> None:
    import os
    import subprocess
    from pathlib import Path

    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    await a_treated_month(patient)
    pid = patient.user["id"]  # type: ignore[index]
    words = text_of((await page(doctor, f"/patients/{pid}/report?days=56")).text)
    # The line says which figure the verdict rests on, so a fall in episodes does not read as a contradiction.
    assert re.search(
        r"Judged on stiffness [\d.]+ → [\d.]+ \(0-10\) \(\d+% better\); for context, episodes 21 → 6.5 a week", words
    ), words
    assert "Verdict: no meaningful response: less than 20% better" in words
    for lang, needles in {
        "en": [
            "Baclofen",
            "10 mg",
            "Regular medicines taken as planned: 76%",
            "Most often: Tiredness (27), Being hot (27).",  # a tie, in the codes' order (fatigue, heat)
            "Judged on stiffness",
            "Europe/Madrid",
            "Episodes each day of the period",
        ],
        "es": [
            "Baclofen",
            "Medicación habitual tomada según lo previsto: el 76%",
            "Los más frecuentes:",
            "Cansancio (27)",
            "Valorado según rigidez",
            "Europe/Madrid",
        ],
    }.items():
        response = await doctor.client.get(f"/patients/{pid}/report.pdf?days=28", headers={"accept-language": lang})
        assert response.status_code == 200
        pdf = tmp_path / f"report-{lang}.pdf"
        pdf.write_bytes(response.content)
        if shots := os.environ.get("SPASM_SCREENSHOTS"):  # to look at
            Path(shots).mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", str(pdf), str(Path(shots) / f"report-pdf-{lang}")], check=True
            )
        text = " ".join(
            subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split()
        )
        for needle in needles:
            assert needle in text, (lang, needle, text)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M), info
    for days in (14, 56, 90):  # every period fits the one page, its calendar included
        response = await doctor.client.get(f"/patients/{pid}/report.pdf?days={days}")
        pdf = tmp_path / f"report-{days}.pdf"
        pdf.write_bytes(response.content)
        if shots := os.environ.get("SPASM_SCREENSHOTS"):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", str(pdf), str(Path(shots) / f"report-pdf-{days}")], check=True
            )
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M), (days, info)


async def test_the_clinicians_own_zone_is_shown_beside_the_patients_where_it_differs(
    app: Litestar, browser: Any, patient: Api
) -> None:
    doctor: Api = await browser()
    await doctor.register("clinician")
    await make_link(app, patient, doctor, "active", ALL)
    pid = patient.user["id"]  # type: ignore[index]
    day = (dt.datetime.now(MADRID) + dt.timedelta(days=10)).date()
    await submit(doctor, f"/patients/{pid}/appointments", {"starts_at": f"{day.isoformat()}T10:30"})
    at = dt.datetime.combine(day, dt.time(10, 30), MADRID)
    in_london = at.astimezone(ZoneInfo("Europe/London"))
    words = text_of((await page(doctor, f"/patients/{pid}/report?my_zone=Europe/London")).text)
    assert (
        f"10:30 {at.tzname()} ({day.day} {day.strftime('%b')} {day.year}, {in_london:%H:%M} {in_london.tzname()} in your zone, Europe/London)"
        in words
    )
    same = text_of((await page(doctor, f"/patients/{pid}/report?my_zone=Europe/Madrid")).text)
    assert "in your zone" not in same
    unknown = (await page(doctor, f"/patients/{pid}/report?my_zone=Mars/Olympus")).text
    assert "That time zone is unknown" in unknown and "in your zone" not in unknown
