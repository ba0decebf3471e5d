"""The clinician's workspace in Chromium, on a laptop: a newly registered clinician types the code a patient made on
their phone, opens the report, reads the patient's local times, opens the entries behind an urgent flag and resolves
it with a note, snoozes a routine flag, sets a threshold (an out-of-range value is refused and changes nothing),
records "1+" for the left elbow flexors, downloads the CSV and FHIR files, schedules a follow-up at 10:30 patient time
and reads 10:30, marks the patient reviewed and undoes it; the same triage page in Spanish; axe finds nothing on any
clinician page at laptop and tablet sizes."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import api, assert_no_violations, new_clinician, new_patient, screenshot

MADRID = ZoneInfo("Europe/Madrid")
TABLET = {"viewport": {"width": 768, "height": 1024}, "screen": {"width": 768, "height": 1024}}


def a_patient_with_flags(phone: Page) -> tuple[dict[str, Any], dt.datetime]:
    """A patient in Madrid: a 12-minute cramp yesterday at 03:45 on their clock (U1, urgent) with a note, and two
    severe spasms in the last days (R3, routine)."""
    me = new_patient(phone.context, time_zone="Europe/Madrid", display_name=f"Ana {uuid.uuid4().hex[:4]}")
    cramp_at = (dt.datetime.now(MADRID) - dt.timedelta(days=1)).replace(hour=3, minute=45, second=0, microsecond=0)
    cramp = {
        "kind": "cramp",
        "started_at": cramp_at.isoformat(),
        "intensity": 8,
        "duration_seconds": 12 * 60,
        "body_sites": [{"site": "calf", "side": "left"}],
        "triggers": ["fatigue"],
        "treatments": [{"kind": "stretching", "relief": 6}],
        "note": "Woke me at night",
    }
    api(phone.context, "PUT", f"/api/v1/episodes/{uuid.uuid4()}", json=cramp, expect=201)
    noon = dt.datetime.now(MADRID).replace(hour=12, minute=0, second=0, microsecond=0)
    for days_ago in (2, 3):
        severe = {
            "kind": "spasm",
            "started_at": (noon - dt.timedelta(days=days_ago)).isoformat(),
            "intensity": 9,
            "body_sites": [{"site": "thigh", "side": "right"}],
        }
        api(phone.context, "PUT", f"/api/v1/episodes/{uuid.uuid4()}", json=severe, expect=201)
    return me, cramp_at


def sharing_code(phone: Page) -> str:
    phone.goto("/sharing")
    phone.get_by_role("button", name="Make a sharing code").tap()
    code = phone.locator(".big-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code), code
    return code


def flag_item(page: Page, rule_id: str) -> Any:
    return page.locator("li.flag").filter(has=page.locator("strong", has_text=f"· {rule_id}"))


def test_a_new_clinician_works_through_a_patients_diary(
    new_phone: Callable[..., Page], new_laptop: Callable[..., Page], browser_errors: Any, tmp_path: Any
) -> None:
    phone = new_phone()
    patient, cramp_at = a_patient_with_flags(phone)
    code = sharing_code(phone)

    laptop = new_laptop()
    new_clinician(laptop.context, display_name="Dr Rivera")
    laptop.goto("/")
    expect(laptop.get_by_text("There are two ways to link a patient")).to_be_visible()
    screenshot(laptop, "clinician-home-empty")
    assert_no_violations(laptop)
    laptop.get_by_label("The patient's sharing code").fill(code)
    laptop.get_by_role("button", name="Link patient").click()
    expect(laptop.get_by_role("status")).to_contain_text(f"Linked: {patient['display_name']}")
    row = laptop.locator("tr", has_text=patient["display_name"])
    expect(row).to_contain_text("Urgent because (U1, Prolonged episode): Episode longer than 10 min")
    expect(row).to_contain_text("in the last 7 days")
    screenshot(laptop, "clinician-home-linked")
    assert_no_violations(laptop)

    # The report, on the patient's clock.
    laptop.get_by_role("link", name=f"Open the report of {patient['display_name']}").click()
    expect(laptop.get_by_text("Every time is the patient's local time: Spain (Madrid) Time")).to_be_visible()
    zone = cramp_at.tzname()
    expect(laptop.locator("#notes + ul")).to_contain_text(f"03:45 {zone} Woke me at night")
    for _ in range(20):  # R3 comes from the evaluation that follows the answer
        if flag_item(laptop, "R3").count():
            break
        laptop.wait_for_timeout(250)
        laptop.reload()
    expect(flag_item(laptop, "R3")).to_have_count(1)
    screenshot(laptop, "clinician-report")
    assert_no_violations(laptop)

    # The entries behind the urgent flag, and the episode's whole record.
    flag_item(laptop, "U1").get_by_role("link", name=re.compile("The entries behind this flag")).click()
    expect(laptop.get_by_role("heading", level=1)).to_contain_text("U1")
    entry = laptop.locator("table.entries-table tbody tr")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(f"03:45 {zone}")
    expect(entry).to_contain_text("Cramp")
    expect(entry).to_contain_text("Stretching, relief 6 of 10")
    expect(entry).to_contain_text("Woke me at night")
    expect(laptop.get_by_text("An urgent flag cannot be snoozed")).to_be_visible()
    screenshot(laptop, "clinician-flag-entries")
    assert_no_violations(laptop)
    entry.get_by_role("link").click()
    expect(laptop.locator("table.entry-record")).to_contain_text("Woke from sleep")
    expect(laptop.locator("table.entry-record")).to_contain_text(f"03:45 {zone}")
    screenshot(laptop, "clinician-episode")
    assert_no_violations(laptop)
    laptop.get_by_role("link", name="Back to the flag").click()
    laptop.get_by_label("Note").fill("Phoned: stretching before bed, review in 2 weeks")
    laptop.get_by_role("button", name="Resolve").click()
    expect(laptop.locator(".resolution")).to_contain_text("Resolved by Dr Rivera")
    expect(laptop.locator(".resolution")).to_contain_text("Phoned: stretching before bed, review in 2 weeks")
    expect(laptop.locator("ol.history")).to_contain_text("resolved by Dr Rivera")

    # Snooze the routine flag from the report.
    laptop.get_by_role("link", name=re.compile("Back to the report")).click()
    r3 = flag_item(laptop, "R3")
    r3.get_by_label("Snooze for").select_option("14")
    r3.get_by_role("button", name="Snooze").click()
    expect(flag_item(laptop, "R3")).to_contain_text("snoozed until")
    expect(flag_item(laptop, "U1")).to_contain_text("Phoned: stretching before bed")

    # A threshold out of range is refused with its range, and nothing changes; then one in range is kept.
    laptop.get_by_role("link", name="Follow-up rules for this patient (thresholds)").click()
    rule = laptop.locator("#rule-R3")
    rule.get_by_label("R3: severe episodes needed").fill("50")
    browser_errors.allow(r"status of 422")  # the refused form answers 422, as it should
    rule.get_by_role("button", name="Save R3").click()
    alert = laptop.locator("#rule-R3").get_by_role("alert")
    expect(alert).to_contain_text("must be a whole number from 1 to 20")
    expect(alert).to_contain_text("Nothing was changed.")
    screenshot(laptop, "clinician-thresholds-refused")
    assert_no_violations(laptop)
    laptop.goto(f"/patients/{patient['id']}/thresholds")
    expect(laptop.locator("#rule-R3").get_by_label("R3: severe episodes needed")).to_have_value("2")
    laptop.locator("#rule-R3").get_by_label("R3: severe episodes needed").fill("3")
    laptop.locator("#rule-R3").get_by_role("button", name="Save R3").click()
    expect(laptop.locator("#rule-R3").get_by_role("status")).to_contain_text("Saved")
    expect(laptop.locator("#rule-R3").get_by_label("R3: severe episodes needed")).to_have_value("3")

    # Modified Ashworth: 1+ for the left elbow flexors.
    laptop.goto(f"/patients/{patient['id']}/report")
    laptop.get_by_role("link", name="Modified Ashworth grades").click()
    laptop.get_by_label("Muscle group").select_option("elbow_flexors")
    laptop.get_by_label("Left", exact=True).check()
    laptop.get_by_label(re.compile(r"^\s*1\+:")).check()
    laptop.get_by_role("button", name="Record grade").click()
    expect(laptop.get_by_role("status")).to_have_text("Grade recorded.")
    history = laptop.locator("table tbody tr").first
    expect(history).to_contain_text("Elbow flexors")
    expect(history).to_contain_text("Left")
    expect(history).to_contain_text("1+")
    expect(history).to_contain_text("Dr Rivera")
    screenshot(laptop, "clinician-ashworth")
    assert_no_violations(laptop)

    # Downloads, read back.
    laptop.get_by_role("link", name=re.compile("Back to the report")).click()
    with laptop.expect_download() as got:
        laptop.get_by_role("link", name="Diary as CSV").click()
    csv_path = tmp_path / "diary.csv"
    got.value.save_as(csv_path)
    csv_text = csv_path.read_text(encoding="utf-8")
    assert "Woke me at night" in csv_text and "cramp" in csv_text.lower()
    with laptop.expect_download() as got:
        laptop.get_by_role("link", name="Diary as FHIR (JSON)").click()
    fhir_path = tmp_path / "diary.json"
    got.value.save_as(fhir_path)
    bundle = json.loads(fhir_path.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) >= 3

    # A follow-up typed at 10:30 on the patient's clock reads 10:30.
    day = (dt.datetime.now(MADRID) + dt.timedelta(days=9)).date()
    laptop.get_by_label(re.compile("Date and time, in the patient's time zone")).fill(f"{day.isoformat()}T10:30")
    laptop.get_by_role("button", name="Schedule follow-up").click()
    expect(laptop.get_by_role("status")).to_contain_text("Scheduled.")
    on_clock = dt.datetime.combine(day, dt.time(10, 30), MADRID)
    expect(laptop.locator("#follow-up + p + ul, #follow-up ~ ul").first).to_contain_text(
        f"{day.day} {on_clock.strftime('%b')} {day.year}, 10:30 {on_clock.tzname()}"
    )

    # Reviewed, then undone.
    laptop.get_by_role("link", name="Back to my patients").click()
    row = laptop.locator("tr", has_text=patient["display_name"])
    row.get_by_role("button", name=re.compile("Mark reviewed")).click()
    row = laptop.locator("tr", has_text=patient["display_name"])
    expect(row).to_contain_text("Reviewed by Dr Rivera on")
    row.get_by_role("button", name=re.compile("Undo my mark")).click()
    expect(laptop.get_by_role("status")).to_have_text("Your review mark was undone.")
    expect(laptop.locator("tr", has_text=patient["display_name"])).to_contain_text("Not reviewed yet")
    screenshot(laptop, "clinician-home-undone")

    # The same triage list in Spanish.
    spanish = new_laptop(
        "es-ES",
        extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"},
        storage_state=laptop.context.storage_state(),
    )
    spanish.goto("/?days=14")
    expect(spanish.get_by_role("heading", level=1)).to_have_text("Mis pacientes")
    row = spanish.locator("tr", has_text=patient["display_name"])
    expect(row).to_contain_text("en los últimos 14 días")
    expect(row).to_contain_text("Aún sin revisar")
    expect(spanish.get_by_role("link", name="Últimos 30 días")).to_be_visible()
    screenshot(spanish, "clinician-home-es")
    assert_no_violations(spanish)

    # Every clinician page at tablet size.
    tablet = new_laptop(storage_state=laptop.context.storage_state(), **TABLET)
    flags = api(laptop.context, "GET", f"/api/v1/patients/{patient['id']}/flags?status=all")
    u1 = next(f for f in flags if f["rule_id"] == "U1")
    pages = {
        "home": "/",
        "report": f"/patients/{patient['id']}/report",
        "flag": f"/patients/{patient['id']}/flags/{u1['id']}",
        "episode": f"/patients/{patient['id']}/episodes/{u1['evidence_episodes'][0]}?flag={u1['id']}",
        "thresholds": f"/patients/{patient['id']}/thresholds",
        "ashworth": f"/patients/{patient['id']}/ashworth",
    }
    for name, path in pages.items():
        tablet.goto(path)
        screenshot(tablet, f"clinician-tablet-{name}")
        assert_no_violations(tablet)
    tablet.goto("/")
    tablet.get_by_role("button", name="Make my code for a patient").click()
    expect(tablet.locator(".big-code")).to_have_text(re.compile(r"[2-9A-Z]{5}-[2-9A-Z]{5}"))
    screenshot(tablet, "clinician-tablet-offer")
    assert_no_violations(tablet)
