"""Real-browser tests: Debian's Chromium, driven by Playwright's sync API, against a real server process.

`tests/ensure-browser` installs Chromium (/usr/bin/chromium) and axe-core (tests/browser/node_modules); Playwright's
own browser builds are never downloaded. One uvicorn process serves the whole run from a fresh, migrated database of
this run's kind (SQLite or PostgreSQL, from SPASM_TEST_DATABASE), on http://127.0.0.1:<port>: service workers need
a secure context, and 127.0.0.1 is one.

Browser tests are plain `def` functions. While the sync Playwright is alive it marks its own event loop as the
running one between calls, so neither asyncio.run() nor pytest-asyncio can run then: Playwright and the browser are
package-scoped, started after the live server (whose database set-up uses asyncio.run) and stopped as soon as the
last test of tests/browser is done, before the rest of the suite runs. Async tests and async fixtures (the root
conftest's `patient`, `clinician`, `browser`, `database_url`, ...) cannot be used here; use the helpers below.

Fixtures:
    live_server -> LiveServer             .url, .database_url, .log_tail()
    chromium -> Browser                   the launched Chromium
    new_phone(locale="en-GB", **options)  a new phone-sized context with a page, closed after the test -> Page
    phone -> Page                         new_phone() in en-GB; phone.context is its BrowserContext
    phone_es -> Page                      new_phone("es-ES") with Accept-Language es
    new_laptop(locale="en-GB", **options) a laptop-sized context (1366x768, no touch) for clinicians -> Page
    browser_errors -> BrowserErrors       console errors and uncaught exceptions of every page of the test;
                                          the test fails on any not allowed by @pytest.mark.allow_console_errors(
                                          r"regex", ...) or browser_errors.allow(r"regex")

Helpers (import them: `from tests.browser.conftest import new_patient, ...`); every one works through the
context's own request object, so its cookies are the browser context's and the page is signed in as that person:
    new_patient(context, **fields) -> dict     registers and signs in a patient; the user, with "password"
    new_clinician(context, **fields) -> dict   the same for a clinician
    link(patient_context, clinician_context, scopes=...) -> dict   a care link the clinician redeemed
    api(context, method, path, json=None, expect=...) -> Any       a JSON API call with the CSRF token
    log_episode(context, minutes_ago=..., **fields) -> dict        one episode in the diary
    axe(page, tags=AXE_TAGS) -> list[dict]    axe-core's violations on the page as it is now
    assert_no_violations(page, tags=AXE_TAGS, ignore=())          fails with a readable list
    screenshot(page, name) -> Path            a full-page PNG in $SPASM_SCREENSHOTS (or the temp folder) to look at
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, WebError, sync_playwright

from tests.support.databases import DatabaseServer, migrate
from tests.support.mail import Mail, Mailbox
from tests.support.servers import free_port, start_server

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
]
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
PASSWORD = "a perfectly fine pass-phrase"
TIMEOUT_MS = 10_000
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "service_workers": "allow",
}
TIME_ZONES = {"en-GB": "Europe/London", "es-ES": "Europe/Madrid"}
_CALL_FAILED = pytest.StashKey[bool]()  # whether the test itself failed, for the screenshots
MISSING = "run tests/ensure-browser first: it installs Chromium and axe-core for the browser tests"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_console_errors(*patterns): browser console errors matching these regular expressions pass"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and HERE in Path(str(item.path)).parents and _is_coroutine(function):
            raise pytest.UsageError(
                f"{item.nodeid}: browser tests are plain `def` functions (the sync Playwright API cannot share the "
                "thread with a running event loop); see tests/browser/conftest.py"
            )


def _is_coroutine(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


# --- the live server ---------------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_live_server(database_url: str, port: int, log_path: Path, smtp_port: int) -> LiveServer:
    url = f"http://127.0.0.1:{port}"
    process = start_server(
        database_url,
        port,
        log_path,
        SPASM_SMTP_HOST="127.0.0.1",
        SPASM_SMTP_PORT=str(smtp_port),
        SPASM_SMTP_STARTTLS="0",
        SPASM_SECRET_KEY="browser-tests-" + "x" * 40,
        SPASM_BASE_URL=url,
        SPASM_FLAG_DELAY_SECONDS="0",
        # Every test browser comes from the same address; the limits have tests of their own.
        SPASM_LIMIT_SIGN_IN_PER_ADDRESS="1000000",
        SPASM_SIGN_IN_FREE_FAILURES="1000000",
        SPASM_LIMIT_REGISTER_PER_ADDRESS="1000000",
        SPASM_LIMIT_WRITES_PER_MINUTE="1000000",
        SPASM_LIMIT_REDEEM_PER_HOUR="1000000",
    )
    return LiveServer(url=url, database_url=database_url, log_path=log_path, process=process)


def stop_live_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_mailbox() -> Iterator[Mailbox]:
    """The SMTP server the live server sends its e-mail to (aiosmtpd on 127.0.0.1), and what it received."""
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def live_server(
    database_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory, live_mailbox: Mailbox
) -> Iterator[LiveServer]:
    database_url = database_server.new_database(f"browser_{uuid.uuid4().hex[:8]}")
    migrate(database_url)
    log = tmp_path_factory.mktemp("live_server") / "server.log"
    assert live_mailbox.port is not None
    server = start_live_server(database_url, free_port(), log, live_mailbox.port)
    try:
        yield server
    finally:
        stop_live_server(server)


def mail_to(mailbox: Mailbox, address: str, timeout_s: float = 20.0) -> Mail:
    """The first e-mail to `address`, waiting for it: the server sends account e-mail after its answer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = mailbox.to(address)
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} within {timeout_s} s")


# --- the browser -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright(live_server: LiveServer) -> Iterator[Playwright]:
    # Depends on live_server so that it is up first: its set-up runs asyncio.run(), impossible once this is alive.
    if not Path(CHROMIUM).exists() or not AXE_SCRIPT.exists():
        pytest.fail(MISSING)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class BrowserErrors:
    """The console errors and uncaught exceptions of every page a test opened, and the patterns allowed."""

    allowed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    reported: int = 0

    def allow(self, *patterns: str) -> None:
        self.allowed.extend(patterns)

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._on_console)
        context.on("weberror", self._on_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url") or (message.page.url if message.page else "")
            self.messages.append(f"console.error {message.text} ({where})")

    def _on_error(self, error: WebError) -> None:
        where = error.page.url if error.page else ""
        self.messages.append(f"uncaught {error.error.name}: {error.error.message} ({where})")

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(re.search(p, m) for p in self.allowed)]

    def check(self) -> None:
        """Fails on errors not allowed that were not reported yet."""
        new = self.unexpected()[self.reported :]
        self.reported += len(new)
        if new:
            pytest.fail("unexpected errors in the browser:\n" + "\n".join(f"- {m}" for m in new), pytrace=False)


@pytest.fixture
def browser_errors(request: pytest.FixtureRequest) -> BrowserErrors:
    errors = BrowserErrors()
    for marker in request.node.iter_markers("allow_console_errors"):
        errors.allow(*marker.args)
    return errors


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield  # a test that failed already is not failed again for its console
    errors = getattr(item, "funcargs", {}).get("browser_errors")
    if isinstance(errors, BrowserErrors):
        errors.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture
def new_phone(
    chromium: Browser,
    live_server: LiveServer,
    browser_errors: BrowserErrors,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Callable[..., Page]]:
    """Makes phone-sized browser contexts, each with one page; on failure their screenshots go to tmp_path."""
    contexts: list[BrowserContext] = []

    def make(locale: str = "en-GB", **options: Any) -> Page:
        settings = {**PHONE, "locale": locale, "timezone_id": TIME_ZONES.get(locale, "UTC"), **options}
        context = chromium.new_context(base_url=live_server.url, **settings)
        context.set_default_timeout(TIMEOUT_MS)
        browser_errors.watch(context)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = request.node.stash.get(_CALL_FAILED, False)
    for n, context in enumerate(contexts):
        if failed:
            for m, page in enumerate(context.pages):
                shot = tmp_path / f"context{n}-page{m}.png"
                try:
                    page.screenshot(path=shot, full_page=True)
                    print(f"screenshot of {page.url}: {shot}")
                except Exception as exc:
                    print(f"no screenshot of {page.url}: {exc}")
        context.close()
    if failed and live_server.log_tail():
        print(f"live server log:\n{live_server.log_tail()}")


@pytest.fixture
def phone(new_phone: Callable[..., Page]) -> Page:
    return new_phone()


LAPTOP: dict[str, Any] = {
    "viewport": {"width": 1366, "height": 768},
    "screen": {"width": 1366, "height": 768},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}


@pytest.fixture
def new_laptop(new_phone: Callable[..., Page]) -> Callable[..., Page]:
    """Makes laptop-sized contexts (a clinician's desk): the same as new_phone, 1366x768, mouse and keyboard."""

    def make(locale: str = "en-GB", **options: Any) -> Page:
        return new_phone(locale, **{**LAPTOP, **options})

    return make


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot kept for a person to look at: in $SPASM_SCREENSHOTS, else the system's temp folder."""
    folder = Path(os.environ.get("SPASM_SCREENSHOTS") or tempfile.gettempdir()) / "spasm-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def phone_es(new_phone: Callable[..., Page]) -> Page:
    return new_phone("es-ES", extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"})


# --- people and their data, through the JSON API in the browser context's own cookie jar -------------------------


def api(
    context: BrowserContext,
    method: str,
    path: str,
    json: Any = None,
    expect: int | None = None,
    if_match: int | None = None,
) -> Any:
    """One JSON API call as the person signed in to `context`, with its CSRF token; returns the parsed body."""
    headers = {} if if_match is None else {"If-Match": f'"{if_match}"'}
    if method.upper() not in {"GET", "HEAD", "OPTIONS"}:
        session = context.request.get("/api/v1/auth/session")
        assert session.ok, f"GET /api/v1/auth/session: {session.status} {session.text()}"
        headers["x-csrf-token"] = session.json()["csrf_token"]
    response = context.request.fetch(path, method=method.upper(), headers=headers, data=json)
    if expect is not None:
        assert response.status == expect, f"{method} {path}: {response.status} {response.text()}"
    else:
        assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    body = response.body()
    return response.json() if body and "json" in response.headers.get("content-type", "") else None


def register(context: BrowserContext, role: str, **fields: Any) -> dict[str, Any]:
    body = {
        "email": f"{role}-{uuid.uuid4().hex[:12]}@example.org",
        "password": PASSWORD,
        "display_name": f"Test {role}",
        "role": role,
        "time_zone": "Europe/London",
        **fields,
    }
    out = api(context, "POST", "/api/v1/auth/register", json=body, expect=201)
    return {**out["user"], "password": body["password"]}


def new_patient(context: BrowserContext, **fields: Any) -> dict[str, Any]:
    """Registers a patient and signs `context` in as them: {"id", "email", "display_name", "role", "password"}."""
    return register(context, "patient", **fields)


def new_clinician(context: BrowserContext, **fields: Any) -> dict[str, Any]:
    """Registers a clinician and signs `context` in as them."""
    return register(context, "clinician", **fields)


def link(
    patient_context: BrowserContext,
    clinician_context: BrowserContext,
    scopes: tuple[str, ...] = ("view", "annotate", "notify", "export"),
) -> dict[str, Any]:
    """The patient makes a sharing code with these scopes and the clinician redeems it: the link, as the API says."""
    invitation = api(
        patient_context, "POST", "/api/v1/care-links/invitations", json={"scopes": list(scopes)}, expect=201
    )
    return api(clinician_context, "POST", "/api/v1/care-links/redeem", json={"code": invitation["code"]}, expect=201)


def log_episode(context: BrowserContext, minutes_ago: int = 60, **fields: Any) -> dict[str, Any]:
    """One episode in the signed-in patient's diary (a calf spasm of strength 4 unless `fields` say otherwise)."""
    body = {
        "kind": "spasm",
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).isoformat(),
        "intensity": 4,
        "body_sites": [{"site": "calf", "side": "right"}],
        **fields,
    }
    return api(context, "PUT", f"/api/v1/episodes/{uuid.uuid4()}", json=body, expect=201)


# --- accessibility -----------------------------------------------------------------------------------------------


def axe(page: Page, tags: tuple[str, ...] = AXE_TAGS) -> list[dict[str, Any]]:
    """Runs axe-core on the page as it is now and returns its violations.

    The app's CSP (script-src 'self') blocks a <script> tag with inline content, so add_script_tag(path=...) does not
    work; evaluating the file's source through the DevTools protocol is not subject to the page's CSP.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;undefined")
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    result = page.evaluate("options => window.axe.run(document, options)", options)
    return list(result["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        nodes = v.get("nodes", [])
        targets = ", ".join(" ".join(map(str, n.get("target", []))) for n in nodes[:3])
        more = f" and {len(nodes) - 3} more" if len(nodes) > 3 else ""
        lines.append(
            f"- {v['id']} ({v.get('impact')}): {v.get('help')}\n    on {targets}{more}\n    {v.get('helpUrl')}"
        )
        if nodes and nodes[0].get("failureSummary"):
            summary = " ".join(nodes[0]["failureSummary"].split())
            lines.append(f"    first: {summary[:300]}")
    return "\n".join(lines)


def assert_no_violations(page: Page, tags: tuple[str, ...] = AXE_TAGS, ignore: tuple[str, ...] = ()) -> None:
    """Fails with a readable list when axe-core finds violations (rule ids in `ignore` are left out)."""
    violations = [v for v in axe(page, tags) if v["id"] not in ignore]
    if violations:
        pytest.fail(
            f"{len(violations)} accessibility violation(s) on {page.url}:\n{describe_violations(violations)}",
            pytrace=False,
        )
