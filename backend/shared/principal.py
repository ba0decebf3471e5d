"""The person behind a request, and how a request names them: the session cookie and the socket address.

Who a session cookie belongs to is decided by the accounts area (backend/accounts/sessions.py); everything else sees
only this Principal, handed to handlers as the "principal", "patient" or "clinician" dependency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request

from backend.config import Settings

ANON_CSRF_COOKIE = "spasm_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"


@dataclass(frozen=True)
class Principal:
    """The person behind a request."""

    user_id: uuid.UUID
    role: str
    display_name: str
    email: str
    session_token: str
    two_step: bool = False  # a confirmed two-step sign-in set-up (clinicians)

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix pins the cookie to this exact host over https (ASVS 3.3.1/3.3.3); browsers refuse it on http.
    return "__Host-spasm_session" if settings.secure_cookies else "spasm_session"


def session_token_from(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(session_cookie_name(settings))


def client_address(request: Request[Any, Any, Any]) -> str:
    # Only the socket peer: X-Forwarded-For is set by whoever sends the request. Behind a proxy, run the server with
    # its proxy-headers option limited to the proxy's address so that this becomes the real client.
    return request.client.host if request.client else "unknown"
