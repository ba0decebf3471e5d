"""The service's log: one JSON object per line in production (SPASM_LOG_FORMAT=json), readable text on a laptop.

What is logged about a request: method, the route's template (``/api/v1/episodes/{episode_id:uuid}``, never the
address with its ids or query), status, duration and a request id. Never a body, a query string, a cookie, a name or
an e-mail: the log holds no health data, so it can go to an ordinary log store.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
import weakref
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("spasm.access")
STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
TERMINAL_ONLY = {"color_message"}  # uvicorn's own coloured copy of its message


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


class TextFormatter(logging.Formatter):
    """One readable line for a person at a terminal (``make run``): a request as ``GET /trends 200 12.3 ms``, other
    records with their extras as ``key=value``. The same fields as the JSON lines, so the same things are left out."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            k: v
            for k, v in record.__dict__.items()
            if k not in STANDARD and k not in TERMINAL_ONLY and not k.startswith("_")
        }
        if record.name == access.name and {"method", "route", "status", "ms"} <= set(extras):
            line = f"{extras.pop('method')} {extras.pop('route')} {extras.pop('status')} {extras.pop('ms')} ms"
            shown = logging.makeLogRecord({**record.__dict__, "msg": line, "args": None})
            return super().format(shown) + "".join(f" {k}={v}" for k, v in extras.items())
        return super().format(record) + "".join(f" {k}={v}" for k, v in extras.items())


_SECOND: list[Any] = [None, ""]


def _stamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the date and time part is made once a second."""
    second = int(created)
    if _SECOND[0] != second:
        _SECOND[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_SECOND[1]}.{int((created - second) * 1000):03d}Z"


class BufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines in blocks instead of one system call per line: at the latest FLUSH_EVERY seconds later, at once for
    a warning or an error, and when the process exits. Under load, a line per request would otherwise cost as much as
    a diary write's own work."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        _LIVE.add(self)
        if not _FLUSHER:  # one thread for every handler of the process
            _FLUSHER.append(threading.Thread(target=_flush_live, name="log-flush", daemon=True))
            _FLUSHER[0].start()
            atexit.register(_flush_live, forever=False)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self.lines.append(line)
        if record.levelno >= logging.WARNING or len(self.lines) >= 1000:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if not self.lines:
                return
            text, self.lines = "\n".join(self.lines) + "\n", []
            try:
                self.stream.write(text)
                self.stream.flush()
            except Exception:  # a closed stream at exit: nothing more can be said
                pass


FLUSH_EVERY = 0.5
_LIVE: weakref.WeakSet[BufferedHandler] = weakref.WeakSet()
_FLUSHER: list[threading.Thread] = []


def flush() -> None:
    """Writes what the handlers hold now (before a last word on the terminal)."""
    _flush_live(forever=False)


def _flush_live(forever: bool = True) -> None:
    while True:
        try:
            for handler in list(_LIVE):
                handler.flush()
        except Exception:
            pass
        if not forever:
            return
        time.sleep(FLUSH_EVERY)


def configure(fmt: str, level: str = "info") -> None:
    handler = BufferedHandler()
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()  # its own UTC stamps (_stamp)
    else:
        formatter = TextFormatter()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, BufferedHandler):
            old.flush()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("weasyprint", "fontTools"):  # page-by-page progress is noise in the service's log
        logging.getLogger(chatty).setLevel(logging.ERROR)
    logging.getLogger("uvicorn.access").disabled = True  # replaced by spasm.access, which leaves ids and queries out


# Request ids: unique across processes (a random prefix per process) without a system call per request.
_PREFIX = os.urandom(4).hex()
_NEXT = itertools.count(1)


def request_id() -> str:
    return f"{_PREFIX}{next(_NEXT) & 0xFFFFFFFF:08x}"


def access_log(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access.isEnabledFor(logging.INFO):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        rid = request_id()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            route = scope.get("path_template") or _template(scope)
            access.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": route,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": rid,
                },
            )

    return wrapped


def _template(scope: Scope) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    if paths:
        return str(sorted(paths)[0])
    return "(no route)"
