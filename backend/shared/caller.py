"""How a request names its caller: the session cookie, and the socket address written in the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.config import Settings
from backend.shared.principal import session_cookie_name


def session_token_from(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(session_cookie_name(settings))


def client_address(request: Request[Any, Any, Any]) -> str:
    # Only the socket peer: X-Forwarded-For is set by whoever sends the request. Behind a proxy, run the server with
    # its proxy-headers option limited to the proxy's address so that this becomes the real client.
    return request.client.host if request.client else "unknown"
