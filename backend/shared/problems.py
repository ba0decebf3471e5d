"""What can go wrong, as plain data: a domain error (``Problem``) with its status, a stable code and each field's
reason, and the RFC 9457 body it becomes. Services raise these; backend/shared/errors.py answers them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Deleted",
    412: "Changed since you last saw it",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid data",
    428: "Version required",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


class FieldError(msgspec.Struct):
    field: str
    reason: str


class Problem(Exception):
    """A domain error: what went wrong (a status, a stable machine-readable code, the fields and why), raised by
    services that know nothing of HTTP. ``handle_exception`` below, the one place that does, turns it into problem
    details for the API or an error page; a page's form catches it first and says it on the page (forms.messages)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra_members: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status
        self.detail = detail
        self.headers = headers
        self.code = code or TITLES.get(status, "error").lower().replace(" ", "-")
        self.errors = list(errors)
        self.extra_members = extra_members or {}


def invalid(errors: Sequence[FieldError]) -> Problem:
    summary = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    return Problem(422, f"The data has problems: {summary}", code="invalid-data", errors=errors)


def not_found(what: str = "record") -> Problem:
    return Problem(404, f"No such {what}.", code="not-found")


_MSGSPEC_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def field_error_from_msgspec(message: str) -> FieldError:
    match = _MSGSPEC_PATH.match(message)
    reason, path = (match.group("reason"), match.group("path") or "") if match else (message, "")
    field = path.lstrip(".")
    missing = re.match(r"Object missing required field `(?P<name>[^`]*)`", reason)
    if missing:
        field = f"{field}.{missing['name']}" if field else missing["name"]
        reason = "is required"
    unknown = re.match(r"Object contains unknown field `(?P<name>[^`]*)`", reason)
    if unknown:
        # Name the field itself, so that a client learns which of its fields this server does not accept.
        field = f"{field}.{unknown['name']}" if field else unknown["name"]
        reason = "is not a field of this record"
    return FieldError(field=field or "body", reason=reason)


def problem_body(
    status: int, detail: str, code: str, errors: Sequence[FieldError] = (), **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://spasm-diary.example/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    body.update(extra)
    return body
