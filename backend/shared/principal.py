"""The person behind a request, and the names of the cookies that carry them.

Who a session cookie belongs to is decided by the accounts area (backend/accounts/sessions.py); everything else sees
only this Principal, handed to handlers as the "principal", "patient" or "clinician" dependency, and to services as
a plain argument. How a request names its caller is in caller.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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
    language: str | None = None  # a patient's chosen language (their profile); others follow their browser

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix pins the cookie to this exact host over https (ASVS 3.3.1/3.3.3); browsers refuse it on http.
    return "__Host-spasm_session" if settings.secure_cookies else "spasm_session"
