"""Errors never leak: no stack trace, no secret, no internal detail; the person gets a reference to quote."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest
from litestar import Litestar

from backend.diary import records
from tests.conftest import TEST_SECRET, Api

LEAKS = re.compile(r"Traceback|File \"/|RuntimeError|sqlalchemy|secret-sauce|\$argon2|password_hash", re.I)


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_an_unexpected_api_error_gives_a_reference_and_nothing_else(
    patient: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Remember()
    logging.getLogger("spasm.errors").addHandler(log)
    episode_id = uuid.uuid4()
    start = "2026-11-28T10:00:00+01:00"
    body = {"kind": "cramp", "started_at": start, "intensity": 3, "body_sites": [{"site": "calf", "side": "left"}]}
    assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201

    def broken(row: Any) -> Any:
        raise RuntimeError("secret-sauce in the database layer")

    monkeypatch.setattr(records, "episode_out", broken)
    response = await patient.get(f"/api/v1/episodes/{episode_id}")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert re.fullmatch(r"[0-9a-f]{12}", problem["reference"])
    assert problem["reference"] in problem["detail"]
    assert not LEAKS.search(response.text), response.text
    assert TEST_SECRET not in response.text
    # The reference leads the operator to the full story in the log.
    logging.getLogger("spasm.errors").removeHandler(log)
    assert any(problem["reference"] in message for message in log.messages)


async def test_an_unexpected_page_error_is_a_friendly_page(patient: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.home import pages

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret-sauce in a page")

    monkeypatch.setattr(pages, "patient_home", broken)
    response = await patient.client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "nothing was saved" in response.text
    assert not LEAKS.search(response.text)


async def test_anonymous_endpoints_hold_no_secrets(app: Litestar, browser: Any) -> None:
    stranger: Api = await browser()
    answered = 0
    for route in app.routes:
        if "{" in route.path or "GET" not in getattr(route, "methods", set()):
            continue
        response = await stranger.client.get(route.path)
        answered += 1
        assert TEST_SECRET not in response.text, route.path
        assert not LEAKS.search(response.text), route.path
        assert "demo.patient" not in response.text
    assert answered >= 8


async def test_trace_is_not_allowed(patient: Api) -> None:
    response = await patient.client.request("TRACE", "/api/v1/episodes")
    assert response.status_code == 405


# ---- odd paths, and no flood of tracebacks ---------------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Any:
    handler = Records()
    logger = logging.getLogger("spasm.errors")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    "path", ["/static/%00", "/static/a%00b.css", "/static/" + "a" * 300, "/static/" + "a/" * 3000, "/static/%00/.."]
)
async def test_a_static_path_that_cannot_be_a_file_is_not_found_without_a_traceback(
    browser: Any, error_log: Records, path: str
) -> None:
    stranger: Api = await browser()
    response = await stranger.client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not-found"
    assert error_log.records == []
    assert (await stranger.client.get("/static/app.css")).status_code == 200  # real files are still there


def test_each_kind_of_error_is_traced_once_per_window_then_noted_then_counted() -> None:
    from backend.shared.errors import UnexpectedErrors

    now = [1000.0]
    errors = UnexpectedErrors(clock=lambda: now[0])
    handler = Records()
    logger = logging.getLogger("spasm.errors")
    logger.addHandler(handler)

    def fail(kind: type[Exception]) -> Exception:
        try:
            raise kind("boom")
        except Exception as exc:
            return exc

    try:
        for i in range(1000):
            errors.report(fail(RuntimeError), f"ref{i:04d}")
        errors.report(fail(KeyError), "other")
        traced = [r for r in handler.records if r.exc_info]
        assert len(traced) == 2  # one RuntimeError, one KeyError
        assert len(handler.records) == 2 + UnexpectedErrors.NOTES
        assert "ref0000" in traced[0].getMessage()
        assert ["ref0001" in r.getMessage() for r in handler.records[1:6]] == [True, False, False, False, False]
        now[0] += UnexpectedErrors.WINDOW
        errors.report(fail(RuntimeError), "later")
        last = handler.records[-1]
        assert last.exc_info and "later" in last.getMessage()
        assert f"{1000 - 1 - UnexpectedErrors.NOTES} more of this kind" in last.getMessage()
    finally:
        logger.removeHandler(handler)


async def test_a_request_that_keeps_failing_writes_a_handful_of_lines(
    patient: Api, monkeypatch: pytest.MonkeyPatch, error_log: Records
) -> None:
    episode_id = uuid.uuid4()
    start = "2026-11-28T10:00:00+01:00"
    body = {"kind": "cramp", "started_at": start, "intensity": 3, "body_sites": [{"site": "calf", "side": "left"}]}
    assert (await patient.put(f"/api/v1/episodes/{episode_id}", json=body)).status_code == 201

    def broken(row: Any) -> Any:
        raise RuntimeError("the same fault every time")

    monkeypatch.setattr(records, "episode_out", broken)
    references = set()
    for _ in range(40):
        response = await patient.get(f"/api/v1/episodes/{episode_id}")
        assert response.status_code == 500
        references.add(response.json()["reference"])
    assert len(references) == 40  # every answer has its own reference...
    assert len([r for r in error_log.records if r.exc_info]) == 1  # ...but the traceback is written once
    assert len(error_log.records) <= 1 + 5
