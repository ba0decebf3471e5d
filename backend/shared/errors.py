"""The one place errors are answered: RFC 9457 problem details for the API, and a friendly page for people in the
browser (a person whose session ended is sent to sign in).

Every 4xx names the field and the reason; a 5xx says nothing about the code, only a reference to find it in the logs.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.shared.problems import PROBLEM_JSON, TITLES, FieldError, Problem, field_error_from_msgspec, problem_body
from backend.shared.rendering import render_error_page

log = logging.getLogger("spasm.errors")

# Python cannot name a parameter "from": the routes call it start, the client sends from.
QUERY_NAMES = {"start": "from", "end": "to"}


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors: list[FieldError] = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = str(item.get("key") or "")
        if item.get("source") == "query":
            key = QUERY_NAMES.get(key, key)
        if key == "data" and message.strip("'") == "data":
            errors.append(FieldError("body", "a JSON object is required"))
            continue
        parsed = field_error_from_msgspec(message)
        field = key.removeprefix("data").lstrip(".").removeprefix("$").lstrip(".") if key else ""
        if not field or field == "body" or parsed.reason in {"is not a field of this record", "is required"}:
            field = parsed.field
        errors.append(FieldError(field=field or "body", reason=parsed.reason))
    if not errors:
        errors.append(field_error_from_msgspec(str(exc.detail)))
    return errors


def _wants_problem(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


class UnexpectedErrors:
    """Logs unexpected errors without flooding the log: the traceback of each kind (its type and the line it came
    from) once per window, then at most a few one-line notes with their references (so that a reference a person
    quotes can still be found), then only a count, reported with the kind's next traceback. A request that fails the
    same way a thousand times a second writes a handful of lines, not a thousand tracebacks."""

    WINDOW = 600.0  # seconds
    NOTES = 5  # one-line notes per kind and window after its traceback
    KINDS = 256  # kinds remembered (the oldest is forgotten first)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seen: dict[str, list[float | int]] = {}  # kind -> [window start, notes written, lines left out]
        self.lock = threading.Lock()

    @staticmethod
    def kind(exc: BaseException) -> str:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        return f"{type(exc).__module__}.{type(exc).__qualname__}{where}"

    def report(self, exc: BaseException, reference: str) -> None:
        kind, now = self.kind(exc), self.clock()
        with self.lock:
            entry = self.seen.get(kind)
            if entry is None or now - entry[0] >= self.WINDOW:
                left_out = int(entry[2]) if entry else 0
                self.seen.pop(kind, None)
                self.seen[kind] = [now, 0, 0]
                while len(self.seen) > self.KINDS:
                    self.seen.pop(next(iter(self.seen)))
                action = "trace"
            elif entry[1] < self.NOTES:
                entry[1] += 1
                action = "note"
            else:
                entry[2] += 1
                action = "count"
        if action == "trace":
            more = f" ({left_out} more of this kind were not logged)" if left_out else ""
            log.error("unhandled error %s, reference %s%s", kind, reference, more, exc_info=exc)
        elif action == "note":
            log.error("unhandled error %s again, reference %s (traceback logged the first time)", kind, reference)


unexpected_errors = UnexpectedErrors()


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(exc, Problem):
        status, code, errors, detail = exc.status_code, exc.code, exc.errors, str(exc.detail)
        headers = dict(exc.headers or {})
        extra = exc.extra_members
    elif isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        status, code = 400, "invalid-request"
        detail = "The request has problems: " + "; ".join(f"{e.field}: {e.reason}" for e in errors)
        extra = {}
    elif isinstance(exc, NotFoundException):
        status, code, errors, detail, extra = 404, "not-found", [], "Nothing lives at this address.", {}
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status, code, errors, extra = (
            exc.status_code,
            TITLES.get(exc.status_code, "error").lower().replace(" ", "-"),
            [],
            {},
        )
        detail = str(exc.detail)
        headers = dict(exc.headers or {})
    else:
        reference = secrets.token_hex(6)
        unexpected_errors.report(exc, reference)
        status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
        code, errors, extra = "internal-error", [], {"reference": reference}
        detail = f"An unexpected error happened and nothing was saved. Quote reference {reference} if you contact us."
    body = problem_body(status, detail, code, errors, **extra)
    if _wants_problem(request):
        return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
    if status == 401 or code == "two-step-required":
        # A person whose session ended is sent to sign in, not shown an error; a clinician who has still to set up
        # two-step sign-in, to its set-up.
        target = "/sign-in" if status == 401 else "/account/two-step"
        return Redirect(target, status_code=303)  # type: ignore[return-value]
    return render_error_page(request, body, headers)
