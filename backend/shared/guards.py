"""What every request goes through before its handler and after it: who is calling, CSRF, the content type and the
strict types of an API body, and the rate-limit headers of its answer. Registered in backend/app.py."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from backend.shared import instants, limits
from backend.shared.csrf import SAFE_METHODS, check_csrf
from backend.shared.dependencies import authenticate, confirm_caller
from backend.shared.problems import FieldError, Problem, field_error_from_msgspec, invalid


async def check_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    """Runs before every handler, in this order: who is calling (401, then 403 for the wrong role), CSRF, the content
    type of API writes (415, ASVS 13.1.5), and the body's types. A stranger learns nothing about a route's body.
    An OPTIONS request is answered here, with every method of its path."""
    if request.method == "OPTIONS" and (allow := request.app.state.allow.get(id(request.route_handler))):
        return Response(None, status_code=204, headers={"Allow": allow})
    limits.current_quota.set(None)
    await authenticate(request)
    try:
        await check_csrf(request)
        if request.method not in SAFE_METHODS and request.scope["path"].startswith("/api/"):
            has_body = (
                request.headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in request.headers
            )
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if has_body and content_type != "application/json":
                raise Problem(
                    415, "Send the body as JSON with Content-Type: application/json.", code="unsupported-media-type"
                )
            await check_types_strictly(request)
    except (Problem, HTTPException):  # ours, or Litestar's own (a body over the size limit: 413)
        await confirm_caller(request)  # a handler that looks up its session later still answers 401/403 first
        raise
    return None


async def check_types_strictly(request: Request[Any, Any, Any]) -> None:
    """Litestar converts bodies leniently ("7" becomes 7, "false" becomes False); the API promises the types its
    schema states, so the body is first decoded strictly against the same Struct."""
    field = request.route_handler.parsed_data_field
    if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, msgspec.Struct):
        return
    body = await request.body()
    error: FieldError | None = None
    if not body:
        error = FieldError("body", "a JSON object is required")
    else:
        try:
            decoded = msgspec.json.decode(body, type=field.annotation, strict=True)
        except msgspec.ValidationError as exc:
            error = field_error_from_msgspec(str(exc))
        except msgspec.DecodeError as exc:
            raise Problem(400, f"The body is not valid JSON: {exc}", code="invalid-json") from exc
    if error is not None:
        raise Problem(
            400, f"The request has problems: {error.field}: {error.reason}", code="invalid-request", errors=[error]
        )
    if (outside := instants.out_of_range(decoded)) is not None:
        raise invalid([outside])


async def add_quota_headers(response: Response[Any]) -> Response[Any]:
    """RateLimit-Limit/Remaining/Reset on the answer of a request that counted against a limit (limits.hit)."""
    quota = limits.current_quota.get()
    if quota is not None:
        for name, value in quota.headers().items():
            response.headers.setdefault(name, value)
    return response
