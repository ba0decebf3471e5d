"""What the reminder tests share: a local Web Push receiver, a browser's subscription keys, VAPID checks, queue rows.

The receiver is a real HTTP server on 127.0.0.1 in a thread of its own; it stands where a push service (FCM,
Mozilla autopush) would, records every request exactly as it arrived, and answers each path with the status a test
asks for (201 Created unless told otherwise), so the app's pywebpush client is exercised end to end.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.reminders.dispatcher import Dispatcher
from backend.reminders.models import DeliveryAttempt, PushSubscription, Reminder


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered
    at: float


class PushReceiver:
    """A push service on 127.0.0.1: records each POST (headers and body) and answers with a chosen status."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, int] = {}  # path -> status; 201 when absent
        self.default_status = 201
        self.hold: threading.Event | None = None  # when set up: the next request waits until this event is set ...
        self.holding = threading.Event()  # ... and this one says that a request is being held
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    hold, receiver.hold = receiver.hold, None
                if hold is not None:  # a push service that takes its time over this one request
                    receiver.holding.set()
                    hold.wait(30)
                with receiver._lock:
                    status = receiver.answers.get(self.path, receiver.default_status)
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status, time.time())
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if status == 201:
                    self.send_header("Location", f"{self.path}/message/{uuid.uuid4().hex}")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="push-receiver", daemon=True)

    def start(self) -> PushReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PushReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def endpoint(self, name: str | None = None) -> str:
        return f"{self.origin}/push/{name or uuid.uuid4().hex}"

    def at(self, endpoint: str) -> list[Received]:
        path = endpoint.removeprefix(self.origin)
        with self._lock:
            return [r for r in self.received if r.path == path]


class Browser:
    """A browser's push subscription: its own P-256 key pair and 16-byte auth secret (RFC 8291 section 2)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = b64url(point)
        self.auth_secret = os.urandom(16)
        self.auth = b64url(self.auth_secret)

    def subscription(self) -> dict[str, Any]:
        """The JSON a browser's PushSubscription.toJSON() gives, as the app's script posts it."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


def vapid_parts(authorization: str) -> dict[str, str]:
    """``vapid t=<JWT>, k=<key>`` (RFC 8292 section 3) as {"t": ..., "k": ...}; the space after the comma optional."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        parts[name.strip()] = value.strip()
    assert set(parts) == {"t", "k"}, authorization
    return parts


def verify_es256_jwt(token: str, public_key_b64url: str) -> dict[str, Any]:
    """Checks an ES256 JWT (RFC 7515, RFC 7518 section 3.4) against an uncompressed P-256 point; returns its claims."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "ES256", header
    assert header.get("typ", "JWT") == "JWT", header
    signature = b64url_decode(signature_b64)
    assert len(signature) == 64, "an ES256 signature is r and s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key_b64url))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise AssertionError("the VAPID JWT does not verify with the server's public key") from exc
    claims: dict[str, Any] = json.loads(b64url_decode(claims_b64))
    return claims


def delivering_only(dispatcher: Dispatcher) -> Dispatcher:
    """Takes the planning step out of a dispatcher's rounds, for tests that put rows straight into the queue.

    Such rows have no reason the planner knows of (no appointment, medicine, flag or daily time behind them), and a
    planning pass cancels pending reminders whose reason went away: it would rightly cancel them before delivery.
    """
    assert hasattr(dispatcher, "plan_everyone")

    async def nothing(now: dt.datetime) -> int:
        return 0

    dispatcher.plan_everyone = nothing  # type: ignore[method-assign]
    return dispatcher


@dataclass(frozen=True)
class Queued:
    id: uuid.UUID
    key: str
    title: str
    body: str


async def queue_reminders(
    maker: async_sessionmaker[AsyncSession],
    patient_id: uuid.UUID | str,
    due_at: dt.datetime,
    n: int = 1,
    kind: str = "medicine",
    link: str = "/",
) -> list[Queued]:
    """Puts `n` pending reminders due at `due_at` straight into the queue, each with its own recognisable words."""
    patient_id = uuid.UUID(str(patient_id))
    made: list[Queued] = []
    async with maker() as db:
        for i in range(n):
            marker = uuid.uuid4().hex[:10]
            row = Reminder(
                patient_id=patient_id,
                id=uuid.uuid4(),
                key=f"test:{marker}:{i}",
                kind=kind,
                title=f"Medicine time {marker}",
                body=f"Time for baclofen-{marker} 10 mg, as planned.",
                due_at=due_at,
                next_attempt_at=due_at,
                status="pending",
                attempts=0,
                link=link,
                created_at=due_at,
            )
            db.add(row)
            made.append(Queued(row.id, row.key, row.title, row.body))
        await db.commit()
    return made


async def reminder(
    maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID | str, reminder_id: uuid.UUID
) -> Reminder:
    async with maker() as db:
        row = await db.get(Reminder, (uuid.UUID(str(patient_id)), reminder_id))
        assert row is not None
        return row


async def attempts_of(maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID | str) -> list[DeliveryAttempt]:
    async with maker() as db:
        query = select(DeliveryAttempt).where(DeliveryAttempt.patient_id == uuid.UUID(str(patient_id)))
        return list((await db.execute(query.order_by(DeliveryAttempt.at))).scalars())


async def subscriptions_of(
    maker: async_sessionmaker[AsyncSession], patient_id: uuid.UUID | str
) -> list[PushSubscription]:
    async with maker() as db:
        return list(
            (
                await db.execute(
                    select(PushSubscription).where(PushSubscription.patient_id == uuid.UUID(str(patient_id)))
                )
            ).scalars()
        )


def words_absent(rows: Iterable[Any], words: Iterable[str], columns: Callable[[Any], Iterable[Any]]) -> list[str]:
    """The words that do appear in any column of any row (an empty list is what the tests want)."""
    found = []
    texts = [str(value) for row in rows for value in columns(row) if value is not None]
    for word in words:
        if any(word in text for text in texts):
            found.append(word)
    return found


def attempt_columns(row: DeliveryAttempt) -> list[Any]:
    return [row.patient_id, row.id, row.reminder_id, row.channel, row.at, row.outcome, row.detail, row.dispatcher]
