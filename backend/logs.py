"""The service's log: one JSON object per line in production (SPASM_LOG_FORMAT=json), readable text on a laptop.

What is logged about a request: method, the route's template (``/api/v1/episodes/{episode_id:uuid}``, never the
address with its ids or query), status, duration and a request id. Never a body, a query string, a cookie, a name or
an e-mail: the log holds no health data, so it can go to an ordinary log store.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("spasm.access")
STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(fmt: str, level: str = "info") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("weasyprint", "fontTools"):  # page-by-page progress is noise in the service's log
        logging.getLogger(chatty).setLevel(logging.ERROR)
    logging.getLogger("uvicorn.access").disabled = True  # replaced by spasm.access, which leaves ids and queries out


def access_log(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access.isEnabledFor(logging.INFO):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = uuid.uuid4().hex[:16]

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            route = scope.get("path_template") or _template(scope)
            access.info("request", extra={"method": scope.get("method"), "route": route, "status": status,
                                          "ms": round((time.perf_counter() - started) * 1000, 1),
                                          "request_id": request_id})  # fmt: skip

    return wrapped


def _template(scope: Scope) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    if paths:
        return str(sorted(paths)[0])
    return "(no route)"
