"""In production the server posts only to the browsers' push services, at public addresses, never into its own network
(SSRF), and it connects to the very address it checked just before sending (DNS rebinding).

The policy is tested with the real parser on every spelling of a private address that was accepted before, the
address check with a fake resolver (and with the system's own for numeric forms and ``localhost``), the pinned
connection against a TLS server of our own whose name no resolver knows, and the whole path through the API and a
dispatcher round in a production app.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar import Litestar

from backend.app import create_app
from backend.reminders import endpoints
from backend.reminders.dispatcher import Dispatcher
from backend.reminders.endpoints import PushTarget, Refused
from tests.conftest import Api, production_settings
from tests.reminders.support import Browser, PushReceiver, attempts_of, delivering_only, queue_reminders, reminder

HOSTS = endpoints.allowed_hosts(())
# Every form the outside tester got accepted, and more of the same kind.
PRIVATE_SPELLINGS = [
    "https://127.1/x",
    "https://0x7f.1/x",
    "https://0177.0.0.1/x",
    "https://10.1/x",
    "https://192.168.1/x",
    "https://2130706433/x",
    "https://0x7f000001/x",
    "https://127.0.0.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://LOCALHOST./x",
    "https://localhost/x",
    "https://printer.local/x",
    "https://intranet/x",
]
KNOWN = [
    "https://fcm.googleapis.com/fcm/send/abc:APA91b",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGx1Z",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
    "https://FCM.googleapis.com./fcm/send/abc",
]


class FakeResolver:
    """Answers from a table, and remembers what it was asked; a name can answer differently on each look-up."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        queue = self.answers.get(host, [[]])
        return queue.pop(0) if len(queue) > 1 else queue[0]


# ---- the policy: the real parser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", KNOWN)
def test_the_browsers_push_services_are_allowed(endpoint: str) -> None:
    host, port = endpoints.check_policy(endpoint, HOSTS)
    assert port == 443 and host == host.lower() and not host.endswith(".")


@pytest.mark.parametrize("endpoint", PRIVATE_SPELLINGS)
def test_no_spelling_of_a_private_address_or_local_name_passes(endpoint: str) -> None:
    with pytest.raises(Refused):
        endpoints.check_policy(endpoint, HOSTS)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://fcm.googleapis.com:8443/fcm/send/abc",  # another port
        "https://user@fcm.googleapis.com/x",  # user information: parsers disagree about such hosts
        "https://127.0.0.1@fcm.googleapis.com/x",
        "https://fcm.googleapis.com.evil.example/x",  # a look-alike that only starts with an allowed name
        "https://evilfcm.googleapis.com.example/x",
        "https://notfcm.googleapis.com/x",
        "https://fcm-googleapis.com/x",
        "https://push.example.org/x",  # a real public name, but not a push service
        "https://fcm.googleapis.com:99999/x",  # an impossible port
        "https:///x",
        "ftp://fcm.googleapis.com/x",
        "https://fcm.googleapis.com\\@127.0.0.1/x",
    ],
)
def test_look_alikes_other_ports_and_plain_http_are_refused(endpoint: str) -> None:
    with pytest.raises(Refused):
        endpoints.check_policy(endpoint, HOSTS)


def test_the_operator_can_add_a_push_service_of_their_own() -> None:
    endpoint = "https://push.hospital.example/v1/abc"
    with pytest.raises(Refused):
        endpoints.check_policy(endpoint, HOSTS)
    assert endpoints.check_policy(endpoint, endpoints.allowed_hosts(["hospital.example"])) == (
        "push.hospital.example",
        443,
    )
    assert endpoints.allowed(endpoint, endpoints.allowed_hosts([" push.hospital.example. "]))


# ---- the addresses behind a name ------------------------------------------------------------------------------------


async def check(endpoint: str, resolver: Any, hosts: tuple[str, ...] = HOSTS) -> PushTarget:
    return await endpoints.target(endpoint, production=True, hosts=hosts, resolver=resolver)


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.7"], ["142.250.1.1", "192.168.0.3"], ["::1"], ["::ffff:10.0.0.1"], ["fd00::5"], []],
)
async def test_an_allowed_name_that_resolves_inward_is_refused(addresses: list[str]) -> None:
    resolver = FakeResolver({"fcm.googleapis.com": [addresses]})
    with pytest.raises(Refused):
        await check("https://fcm.googleapis.com/fcm/send/abc", resolver)
    assert resolver.asked == ["fcm.googleapis.com"]


async def test_a_name_at_public_addresses_is_a_target_pinned_to_the_first() -> None:
    resolver = FakeResolver({"fcm.googleapis.com": [["142.250.1.1", "2a00:1450::200a"]]})
    pinned = await check("https://fcm.googleapis.com/fcm/send/abc", resolver)
    assert (pinned.host, pinned.port, pinned.address) == ("fcm.googleapis.com", 443, "142.250.1.1")


async def test_a_policy_refusal_needs_no_look_up() -> None:
    resolver = FakeResolver({})
    for endpoint in PRIVATE_SPELLINGS:
        with pytest.raises(Refused):
            await check(endpoint, resolver)
    assert resolver.asked == []


async def test_the_system_resolver_reads_numeric_forms_as_loopback() -> None:
    """Why the check is by name: the C resolver takes these spellings for 127.0.0.1, which ``ipaddress`` does not."""
    for host in ("127.1", "0x7f.1", "0177.0.0.1", "2130706433"):
        assert await endpoints.system_resolver(host, 443) == ["127.0.0.1"], host


async def test_a_local_name_that_resolves_to_loopback_is_refused_even_when_allowed_by_name() -> None:
    """``localhost`` is a name the system resolves to loopback: an operator entry naming it gets no connection."""
    addresses = await endpoints.system_resolver("localhost", 443)
    assert addresses and not any(endpoints.public(a) for a in addresses)
    with pytest.raises(Refused, match="private network"):
        await check("https://localhost/x", endpoints.system_resolver, endpoints.allowed_hosts(["localhost"]))


# ---- the pinned connection ------------------------------------------------------------------------------------------


class TlsPushService:
    """An https server on 127.0.0.1 with a certificate for ``push.test``, a name no resolver knows."""

    def __init__(self, directory: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push.test")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("push.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca = directory / "push-test.pem"
        self.ca.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file = directory / "push-test.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.seen: list[tuple[str, str | None, str | None]] = []  # (path, Host header, TLS server name)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                server_name = getattr(self.connection, "server_name_seen", None)
                service.seen.append((self.path, self.headers.get("host"), server_name))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, key_file)

        def remember_name(sock: ssl.SSLSocket, server_name: str | None, _context: ssl.SSLContext) -> None:
            sock.server_name_seen = server_name  # type: ignore[attr-defined]

        context.sni_callback = remember_name
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_service(tmp_path: Path) -> Iterator[TlsPushService]:
    service = TlsPushService(tmp_path)
    try:
        yield service
    finally:
        service.stop()


def test_the_connection_goes_to_the_checked_address_with_the_name_for_tls(tls_service: TlsPushService) -> None:
    pinned = PushTarget(url="", host="push.test", port=tls_service.port, address="127.0.0.1")
    with endpoints.pinned_session(pinned) as session:
        answer = session.post(f"https://push.test:{tls_service.port}/push/1", data=b"x", verify=str(tls_service.ca))
    assert answer.status_code == 201
    assert tls_service.seen == [("/push/1", f"push.test:{tls_service.port}", "push.test")]


def test_a_certificate_for_another_name_is_refused_on_the_pinned_address(tls_service: TlsPushService) -> None:
    pinned = PushTarget(url="", host="other.test", port=tls_service.port, address="127.0.0.1")
    with endpoints.pinned_session(pinned) as session, pytest.raises(requests.exceptions.SSLError):
        session.post(f"https://other.test:{tls_service.port}/push/1", data=b"x", verify=str(tls_service.ca))
    assert tls_service.seen == []


def test_a_redirect_from_a_push_service_is_not_followed(tmp_path: Path) -> None:
    hits: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = int(server.server_address[1])
        pinned = PushTarget(url="", host="127.0.0.1", port=port, address="127.0.0.1")
        with endpoints.pinned_session(pinned) as session, pytest.raises(requests.exceptions.TooManyRedirects):
            session.post(f"http://127.0.0.1:{port}/push/1", data=b"x")
        assert hits == ["/push/1"]
    finally:
        server.shutdown()
        server.server_close()


# ---- through the API and the dispatcher, in production --------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def production_app(database_url: str) -> AsyncIterator[Litestar]:
    app = create_app(production_settings(database_url))
    resolver = FakeResolver({})
    app.state.dispatcher.resolver = resolver
    try:
        yield app
    finally:
        await app.state.evaluator.drain()
        await app.state.engine.dispose()


async def production_patient(app: Litestar) -> Api:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver.local")
    api = Api(client)
    await api.register("patient")
    return api


async def test_the_api_refuses_every_private_spelling_and_names_the_field(production_app: Litestar) -> None:
    patient = await production_patient(production_app)
    resolver: FakeResolver = production_app.state.dispatcher.resolver
    resolver.answers["fcm.googleapis.com"] = [["127.0.0.1"]]
    refused = [*PRIVATE_SPELLINGS, "https://fcm.googleapis.com/fcm/send/abc"]
    for endpoint in refused:
        response = await patient.post("/api/v1/push/subscriptions", json=Browser(endpoint).subscription())
        assert response.status_code == 422, (endpoint, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["endpoint"]
    resolver.answers["fcm.googleapis.com"] = [["142.250.1.1"]]
    accepted = await patient.post("/api/v1/push/subscriptions", json=Browser(KNOWN[0]).subscription())
    assert accepted.status_code == 201, accepted.text
    await patient.client.aclose()


async def test_a_name_rebound_to_loopback_after_subscribing_gets_no_connection(
    production_app: Litestar, tmp_path: Path
) -> None:
    """Public when the patient subscribed, 127.0.0.1 when the reminder is sent: nothing reaches 127.0.0.1, the attempt
    is logged as refused, and the subscription stays (the name may point outward again)."""
    patient = await production_patient(production_app)
    with PushReceiver() as receiver:
        endpoint = f"https://push.hospital.example/push/{uuid.uuid4().hex}"
        settings = production_app.state.settings
        allowing = production_settings(settings.database_url, push_allowed_hosts=("hospital.example",))
        resolver = FakeResolver({"push.hospital.example": [["142.250.1.1"], ["127.0.0.1"]]})
        dispatcher = delivering_only(Dispatcher(production_app.state.sessionmaker, allowing, resolver=resolver))
        production_app.state.dispatcher.resolver = resolver
        production_app.state.settings = allowing
        try:
            response = await patient.post("/api/v1/push/subscriptions", json=Browser(endpoint).subscription())
            assert response.status_code == 201, response.text
            assert patient.user is not None
            now = dt.datetime.now(dt.UTC)
            [queued] = await queue_reminders(production_app.state.sessionmaker, patient.user["id"], now)
            await dispatcher.run_once(now)
        finally:
            production_app.state.settings = settings
        assert resolver.asked == ["push.hospital.example", "push.hospital.example"]  # at subscribing and at sending
        assert receiver.received == []
        attempts = await attempts_of(production_app.state.sessionmaker, uuid.UUID(patient.user["id"]))
        assert [(a.channel, a.outcome) for a in attempts] == [("push", "failed")]
        assert attempts[0].detail == "refused: resolves to an address inside a private network"
        row = await reminder(production_app.state.sessionmaker, uuid.UUID(patient.user["id"]), queued.id)
        assert row.status == "pending" and row.attempts == 1  # tried again later, with backoff
    await patient.client.aclose()
