"""The service's log: JSON lines with the route's template, never ids, queries, bodies or names."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from typing import Any

import pytest

from backend import logs
from tests.conftest import Api


def test_the_json_formatter_writes_one_object_per_line_with_the_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "spasm.access",
            "levelname": "INFO",
            "levelno": 20,
            "msg": "request",
            "method": "PUT",
            "route": "/api/v1/episodes/{episode_id:uuid}",
            "status": 201,
        }
    )
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "request" and entry["level"] == "info" and entry["logger"] == "spasm.access"
    assert entry["route"] == "/api/v1/episodes/{episode_id:uuid}" and entry["status"] == 201
    assert entry["time"].endswith("Z")


async def test_a_request_is_logged_by_its_route_template_without_ids_or_content(
    patient: Api, caplog: pytest.LogCaptureFixture
) -> None:
    episode_id = uuid.uuid4()
    secret = f"note-{uuid.uuid4().hex}"
    body = {
        "kind": "cramp",
        "started_at": "2026-11-01T10:00:00+01:00",
        "intensity": 3,
        "body_sites": [{"site": "calf", "side": "left"}],
        "note": secret,
    }
    with caplog.at_level(logging.INFO, logger="spasm.access"):
        answer = await patient.put(f"/api/v1/episodes/{episode_id}?probe={secret}", json=body)
    assert answer.status_code == 201
    assert len(answer.headers["x-request-id"]) == 16
    lines: list[Any] = [r for r in caplog.records if r.name == "spasm.access"]
    assert [(r.method, r.route, r.status) for r in lines] == [("PUT", "/api/v1/episodes/{episode_id}", 201)]
    text = "\n".join(logs.JsonFormatter().format(r) for r in caplog.records)
    assert str(episode_id) not in text and secret not in text
    assert patient.user is not None and patient.user["email"] not in text


def test_database_errors_never_carry_the_statements_values(app: Any) -> None:
    assert app.state.engine.sync_engine.hide_parameters is True


def test_lines_are_written_in_blocks_a_warning_at_once_and_the_rest_soon() -> None:
    stream = io.StringIO()
    handler = logs.BufferedHandler()
    handler.setStream(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger(f"spasm.test-buffer-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info("one")
    assert stream.getvalue() == ""  # held: no system call per line
    logger.warning("two")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["one", "two"]
    logger.info("three")
    deadline = time.monotonic() + 10 * logs.FLUSH_EVERY
    while "three" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["one", "two", "three"]


def test_request_ids_are_unique_and_sixteen_hex_digits() -> None:
    ids = [logs.request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
