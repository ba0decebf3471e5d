"""Schemathesis against the service's own OpenAPI document, in process, signed in as a patient (and a linked clinician
for the clinician routes).

Four properties, each over every operation under /api/v1 (except the ones that end the fuzzing session: /auth/... and
account erasure) plus the operational routes:

- no generated request, valid or not, gets a 5xx, and every API error is RFC 9457 problem details;
- every answer matches what the schema documents (status code, content type, body, headers);
- a request that breaks the schema (negative generation) is refused with a 4xx, never accepted with a 2xx;
- a request that the schema allows is never refused as malformed (400): the schema states what the server parses.

Each operation gets the deterministic "coverage" cases of schemathesis (boundaries, wrong types, missing parts), then
Hypothesis-generated ones; the first two properties also get hand-written requests that reach the answers of the
versioned-write protocol (201, replay, 428, 412, 404, 410, 204, and 401 signed out), which random data rarely does.
Each property collects every distinct failure an operation shows (by kind, status and a short summary) and reports them
together, each with a curl line that reproduces it, rather than stopping at the first one.

The application here is built separately from the `app` fixture: schemathesis calls it on an event loop of its own
(a portal thread), and asyncpg connections belong to the loop that opened them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio.from_thread
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app import create_app
from backend.flags.engine import RULES
from backend.shared.access import CareLink
from tests.conftest import make_settings

EXAMPLES = 20
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    # Failures are collected rather than raised (see `Findings`), so there is nothing to shrink.
    phases=[Phase.explicit, Phase.generate],
)
# Signing out, signing in, registering or erasing the account would end the session the fuzzing runs in.
NOT_FUZZED = ("/api/v1/auth/", "/api/v1/account")
# The diary and flag operations this file must cover; the collection below must contain them all.
REQUIRED = {
    ("GET", "/api/v1/episodes"),
    ("GET", "/api/v1/episodes/{episode_id}"),
    ("PUT", "/api/v1/episodes/{episode_id}"),
    ("DELETE", "/api/v1/episodes/{episode_id}"),
    ("GET", "/api/v1/checkins"),
    ("GET", "/api/v1/checkins/{day}"),
    ("PUT", "/api/v1/checkins/{day}"),
    ("GET", "/api/v1/penn"),
    ("PUT", "/api/v1/penn/{week}"),
    ("GET", "/api/v1/regimens"),
    ("GET", "/api/v1/regimens/{regimen_id}"),
    ("PUT", "/api/v1/regimens/{regimen_id}"),
    ("DELETE", "/api/v1/regimens/{regimen_id}"),
    ("GET", "/api/v1/profile"),
    ("PUT", "/api/v1/profile"),
    ("GET", "/api/v1/flags"),
    ("POST", "/api/v1/flags/{flag_id}/checked"),
    ("GET", "/api/v1/measures"),
}
PASSWORD = "a perfectly fine pass-phrase"


def _documented_operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes input) of every fuzzed operation, read from the OpenAPI document the app builds.

    Building the document needs no database; reading it at collection time gives one test per operation, so that a
    route added later is fuzzed without editing this file.
    """
    raw = create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi_schema.to_schema()
    found = []
    for path, item in raw["paths"].items():
        if path.startswith(NOT_FUZZED):
            continue
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
                found.append((method.upper(), path, takes_input))
    return found


OPERATIONS = _documented_operations()
ALL = [pytest.param(m, p, id=f"{m} {p}") for m, p, _ in OPERATIONS]
# Negative generation needs something to break: an operation without parameters or body has no invalid request.
WITH_INPUT = [pytest.param(m, p, id=f"{m} {p}") for m, p, takes_input in OPERATIONS if takes_input]


# -- the signed-in browsers and the data the generated requests can point at ------------------------------------------


def _browser(app: Any, role: str) -> tuple[requests.Session, str]:
    """A schemathesis ASGI client (a requests.Session) signed in as a new person, sending the CSRF header on every
    call; the session cookie stays in its cookie jar."""
    client = asgi.get_client(app).__enter__()
    csrf = client.get("/api/v1/auth/session").json()["csrf_token"]
    body = {
        "email": f"fuzz-{role}-{uuid.uuid4().hex[:12]}@example.org",
        "password": PASSWORD,
        "display_name": f"Fuzz {role}",
        "role": role,
        "time_zone": "Europe/Madrid",
    }
    answer = client.post("/api/v1/auth/register", json=body, headers={"x-csrf-token": csrf})
    assert answer.status_code == 201, answer.text
    client.headers["x-csrf-token"] = answer.json()["csrf_token"]
    return client, answer.json()["user"]["id"]


def _link(database_url: str, patient_id: str, clinician_id: str) -> None:
    """An active care link, written straight to the database (as tests/flags/test_api.py does), so that the
    clinician routes reach their 200 answers without depending on the consent flow."""

    async def write() -> None:
        engine = create_async_engine(database_url)
        now = dt.datetime.now(dt.UTC)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    CareLink.__table__.insert().values(
                        patient_id=uuid.UUID(patient_id),
                        clinician_id=uuid.UUID(clinician_id),
                        status="active",
                        scopes=["view", "annotate", "notify", "export"],
                        consent_version="1",
                        consented_at=now,
                        created_at=now,
                    )
                )
        finally:
            await engine.dispose()

    with anyio.from_thread.start_blocking_portal() as portal:
        portal.call(write)


@dataclass
class Fuzzing:
    schema: Any
    patient: requests.Session
    clinician: requests.Session
    anonymous: requests.Session
    patient_id: str

    def session_for(self, path: str) -> requests.Session:
        return self.clinician if path.startswith("/api/v1/patients/") else self.patient


@pytest.fixture(scope="module")
def fuzzing(database_url: str) -> Iterator[Fuzzing]:
    app = create_app(make_settings(database_url))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    # Invalid data must be refused with a 4xx: the default list lacks 410, 412 and 413, and lets a 5xx through (that
    # one is the business of not_a_server_error).
    schema.config.checks.negative_data_rejection.expected_statuses = ["4XX"]
    patient, patient_id = _browser(app, "patient")
    clinician, clinician_id = _browser(app, "clinician")
    _link(database_url, patient_id, clinician_id)
    # Not signed in, but with a valid CSRF token for its anonymous cookie, so that writes reach the 401.
    anonymous = asgi.get_client(app).__enter__()
    anonymous.headers["x-csrf-token"] = anonymous.get("/api/v1/auth/session").json()["csrf_token"]
    try:
        yield Fuzzing(schema=schema, patient=patient, clinician=clinician, anonymous=anonymous, patient_id=patient_id)
    finally:
        # Runs the app's shutdown (drains flag evaluations, closes the pool) before the database goes away.
        asgi.shutdown_lifespans()


TODAY = dt.datetime.now(dt.UTC).date()
_days, _weeks = itertools.count(2), itertools.count(2)


def _fresh_key(name: str) -> str:
    """A key no record of the fuzzing patient has yet: a new uuid, or an earlier day or ISO week (well within the
    ten years a record may go back)."""
    if name == "day":
        return (TODAY - dt.timedelta(days=next(_days))).isoformat()
    if name == "week":
        year, week, _ = (TODAY - dt.timedelta(weeks=next(_weeks))).isocalendar()
        return f"{year}-W{week:02d}"
    return str(uuid.uuid4())


def _episode(intensity: int) -> dict[str, Any]:
    started = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    return {
        "kind": "spasm",
        "started_at": started,
        "intensity": intensity,
        "body_sites": [{"site": "calf", "side": "left"}],
    }


def _regimen(name: str) -> dict[str, Any]:
    return {"kind": "stretching", "name": name, "start_date": (TODAY - dt.timedelta(days=30)).isoformat()}


# The records written with PUT under a client-chosen key: (key parameter, two different valid bodies, deletable).
VERSIONED = {
    "/api/v1/episodes/{episode_id}": ("episode_id", _episode(4), _episode(7), True),
    "/api/v1/regimens/{regimen_id}": ("regimen_id", _regimen("Calf stretch"), _regimen("Hamstring stretch"), True),
    "/api/v1/checkins/{day}": ("day", {"no_episodes": False, "stiffness": 3}, {"no_episodes": True}, False),
    "/api/v1/penn/{week}": ("week", {"frequency": 2, "severity": 1}, {"frequency": 0}, False),
}


def _seed(fuzz: Fuzzing) -> dict[str, Any]:
    """Records that exist, so that part of the generated requests reach the 200 answers of the by-id routes."""
    seeds: dict[str, Any] = {"patient_id": fuzz.patient_id, "rule_id": next(iter(RULES))}
    for path, (name, body, _, _) in VERSIONED.items():
        seeds[name] = _fresh_key(name)
        answer = fuzz.patient.put(path.replace("{" + name + "}", seeds[name]), json=body)
        assert answer.status_code == 201, (path, answer.text)
    return seeds


def protocol(fuzz: Fuzzing, method: str, path: str) -> Iterator[tuple[Any, requests.Session, int | None]]:
    """Hand-written requests, each with the answer it must get, that reach every answer the versioned-write rules
    promise (backend/diary/services.py): 201, the replay, 428, 200, 412, 400 for a bad If-Match, 404, 410, 204; and
    the same operation signed out (401). Random data almost never gets there."""
    operation = fuzz.schema[path][method]
    coverage = fuzz.schema.config.generation_for(operation=operation, phase="coverage")
    for valid in fuzz.schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.POSITIVE], generation_config=coverage
    ):
        yield valid, fuzz.anonymous, None  # 401 where signing in is needed
        break
    patient = fuzz.patient
    if path == "/api/v1/profile" and method == "PUT":
        current = patient.get(path).json()
        body = {k: v for k, v in current.items() if k not in {"version", "updated_at"}}
        body["conditions"] = body["conditions"] or ["night_cramps"]  # a new account has none; a PUT needs one
        version = f'"{current["version"]}"'
        yield operation.Case(body=body), patient, 428
        yield operation.Case(body=body, headers={"If-Match": version}), patient, 200
        yield operation.Case(body=body, headers={"If-Match": version}), patient, 412
        return
    if path not in VERSIONED:
        return
    name, first, second, deletable = VERSIONED[path]
    key = _fresh_key(name)
    url = path.replace("{" + name + "}", key)

    def case(body: Any = None, key: str = key, **headers: str) -> Any:
        with_body = {} if body is None else {"body": body}
        return operation.Case(path_parameters={name: key}, headers=headers or None, **with_body)

    if method == "GET":
        assert patient.put(url, json=first).status_code == 201
        yield case(), patient, 200
        yield case(key=_fresh_key(name)), patient, 404
    elif method == "PUT":
        yield case(first), patient, 201
        yield case(first), patient, 201  # a replay after a lost answer: the stored record again
        yield case(second), patient, 428
        yield case(second, **{"If-Match": '"1"'}), patient, 200
        yield case(first, **{"If-Match": '"1"'}), patient, 412
        yield case(first, **{"If-Match": "yesterday"}), patient, 400
        yield case(first, key=_fresh_key(name), **{"If-Match": '"1"'}), patient, 404
        if deletable:
            assert patient.delete(url).status_code == 204
            yield case(first), patient, 410
    elif method == "DELETE":
        assert patient.put(url, json=first).status_code == 201
        yield case(**{"If-Match": '"7"'}), patient, 412
        yield case(**{"If-Match": '"1"'}), patient, 204
        yield case(), patient, 204  # a replayed delete
        yield case(key=_fresh_key(name)), patient, 404


# -- running a property over one operation ------------------------------------------------------------------------------


@dataclass
class Findings:
    """Distinct failures of one operation, keyed by kind, status and a short stable summary, each with its first full
    report."""

    operation: str
    seen: dict[tuple[str, int, str], tuple[int, str]] = field(default_factory=dict)
    calls: int = 0

    def add(self, group: FailureGroup, status: int) -> None:
        for failure in group.exceptions:
            key = (f"{type(failure).__name__}: {failure.title}", status, _summary(failure.message))
            count, report = self.seen.get(key, (0, str(group)))
            self.seen[key] = (count + 1, report)

    def add_wrong_answer(self, case: Any, status: int, expected: int, text: str) -> None:
        key = ("Protocol: unexpected answer", status, f"expected {expected}")
        count, report = self.seen.get(key, (0, f"{case.method} {case.formatted_path} {case.headers}\n{text[:500]}"))
        self.seen[key] = (count + 1, report)

    def assert_none(self) -> None:
        assert self.calls > 0, f"{self.operation}: no request was generated"
        if self.seen:
            lines = [f"{self.operation}: {len(self.seen)} distinct failure(s) in {self.calls} requests"]
            for (kind, status, summary), (count, report) in sorted(self.seen.items()):
                lines += ["", f"=== {kind} (status {status}, {count}x) {summary}", report.strip()]
            pytest.fail("\n".join(lines), pytrace=False)


def _summary(message: str) -> str:
    """The part of a failure message that names what is wrong without the generated values."""
    for line in message.splitlines():
        line = line.strip()
        if line.startswith(("Invalid component:", "malformed:")):
            return re.sub(r"\d+", "*", line)
    return ""


def run_property(
    fuzz: Fuzzing,
    method: str,
    path: str,
    modes: list[GenerationMode],
    checks: list[Callable[..., Any]],
    *,
    seeded: bool = False,
    with_protocol: bool = False,
) -> None:
    """Optionally the hand-written protocol requests first; then the deterministic coverage cases of each mode
    (boundaries, wrong types, missing parts...) and EXAMPLES Hypothesis-generated ones. When seeded, half of the
    generated positive cases point at records that exist."""
    schema = fuzz.schema
    operation = schema[path][method]
    findings = Findings(f"{method} {path}")

    def call_and_check(case: Any, session: requests.Session | None = None, expected: int | None = None) -> None:
        response = case.call(session=session or fuzz.session_for(path))
        findings.calls += 1
        if expected is not None and response.status_code != expected:
            findings.add_wrong_answer(case, response.status_code, expected, response.text)
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            findings.add(group, response.status_code)

    if with_protocol:
        for case, session, expected in protocol(fuzz, method, path):
            call_and_check(case, session, expected)
    seeds = _seed(fuzz) if seeded else None

    for mode in modes:
        coverage = schema.config.generation_for(operation=operation, phase="coverage")
        for case in schema.iter_coverage_cases(operation, generation_modes=[mode], generation_config=coverage):
            call_and_check(case)

        strategy = operation.as_strategy(generation_mode=mode)
        raw = schema.raw_schema["paths"][path][method.lower()]
        names = {p["name"] for p in raw.get("parameters", []) if p.get("in") == "path"}
        if seeds and mode == GenerationMode.POSITIVE and names and names <= seeds.keys():
            at_seeds = operation.as_strategy(generation_mode=mode, path_parameters={n: seeds[n] for n in names})
            strategy = st.one_of(strategy, at_seeds)

        @given(case=strategy)
        @FUZZ
        def generated(case: Any) -> None:
            call_and_check(case)

        generated()
    findings.assert_none()


def problem_details_on_errors(ctx: Any, response: Any, case: Any) -> None:
    """Every API error is application/problem+json naming its status and a stable code (backend/problems.py)."""
    if response.status_code < 400 or not case.path.startswith("/api/"):
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/problem+json"), f"error answered as {content_type!r}"
    body = response.json()
    assert body.get("status") == response.status_code, f"problem status {body.get('status')!r}"
    assert isinstance(body.get("code"), str) and body["code"], "problem without a code"
    assert isinstance(body.get("detail"), str) and body["detail"], "problem without a detail"
    if response.status_code >= 500:
        assert "Traceback" not in response.text and 'File "' not in response.text, "a 5xx shows code"


def not_refused_as_malformed(ctx: Any, response: Any, case: Any) -> None:
    """A request the schema allows may be refused for a rule the schema cannot state (422: started in the future,
    end before start...), but not as malformed (400): then the schema promises more than the server takes."""
    if response.status_code == 400:
        problem = response.json()
        first = (problem.get("errors") or [{}])[0]
        reason = first.get("reason", problem.get("detail", ""))
        if re.fullmatch(r"Expected `int( \| null)?`, got `float`", reason):
            # JSON Schema counts 3.0 as an integer and no schema can exclude it; the strict decoder (app.py,
            # check_types_strictly) refuses it on purpose. Not a gap in the schema.
            return
        # Unknown fields have generated names; what matters is that one was refused.
        where = "<unknown field>" if reason == "is not a field of this record" else first.get("field", "")
        raise AssertionError(f"malformed: {problem.get('code')}: {where}: {reason}\n{response.text[:500]}")


# -- the properties ----------------------------------------------------------------------------------------------------


def test_the_fuzzed_operations_include_the_whole_diary_and_flags_api() -> None:
    fuzzed = {(m, p) for m, p, _ in OPERATIONS}
    assert not REQUIRED - fuzzed, f"not in the OpenAPI document: {sorted(REQUIRED - fuzzed)}"


@pytest.mark.parametrize(("method", "path"), ALL)
def test_no_request_gets_a_server_error(fuzzing: Fuzzing, method: str, path: str) -> None:
    checks = [schemathesis.checks.not_a_server_error, problem_details_on_errors]
    run_property(fuzzing, method, path, _modes(method, path), checks, seeded=True, with_protocol=True)


@pytest.mark.parametrize(("method", "path"), ALL)
def test_every_answer_matches_the_schema(fuzzing: Fuzzing, method: str, path: str) -> None:
    checks = [
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.response_schema_conformance,
        schemathesis.checks.response_headers_conformance,
    ]
    run_property(fuzzing, method, path, _modes(method, path), checks, seeded=True, with_protocol=True)


@pytest.mark.parametrize(("method", "path"), WITH_INPUT)
def test_invalid_requests_are_refused_with_a_4xx(fuzzing: Fuzzing, method: str, path: str) -> None:
    run_property(fuzzing, method, path, [GenerationMode.NEGATIVE], [schemathesis.checks.negative_data_rejection])


@pytest.mark.parametrize(("method", "path"), WITH_INPUT)
def test_requests_the_schema_allows_are_not_refused_as_malformed(fuzzing: Fuzzing, method: str, path: str) -> None:
    run_property(fuzzing, method, path, [GenerationMode.POSITIVE], [not_refused_as_malformed], seeded=True)


def _modes(method: str, path: str) -> list[GenerationMode]:
    takes_input = any(m == method and p == path and takes for m, p, takes in OPERATIONS)
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if takes_input else [GenerationMode.POSITIVE]
