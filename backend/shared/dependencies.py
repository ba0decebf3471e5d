"""What every handler may ask for by name: the database session, the settings, and a caller of a given kind.

Who a session cookie belongs to is the accounts area's to say: the app puts its resolver in ``state.resolve``
(backend/accounts/sessions.py resolve), so that checking a caller here needs no area.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.shared.caller import session_token_from
from backend.shared.i18n import best_language
from backend.shared.principal import Principal
from backend.shared.problems import Problem

# A handler that names one of these parameters needs a signed-in caller of that kind.
AUTH_PARAMETERS = {"principal": None, "patient": "patient", "clinician": "clinician"}
# A handler with this option needs a caller of the role it names, but leaves the session look-up to its own work: the
# grouped episode writer resolves the cookies of a whole batch of requests in one query (backend/diary/writer.py).
SESSION_IN_WRITER = "session_in_writer"
# A handler with this option is open to a clinician who has yet to set up two-step sign-in where it is required; every
# other one sends them to set it up first, before any patient's diary (ASVS 6.3.3).
TWO_STEP_SET_UP = "two_step_set_up"
SETTING_UP = {TWO_STEP_SET_UP: True}


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def signed_out() -> Problem:
    return Problem(401, "Please sign in again.", code="not-signed-in")


def patients_only() -> Problem:
    return Problem(403, "Only patients keep a diary.", code="patients-only")


def clinicians_only() -> Problem:
    return Problem(403, "This page is for clinicians.", code="clinicians-only")


async def authenticate(request: Request[Any, Any, Any], *, defer: bool = True) -> None:
    """Resolves the caller before anything else looks at the request (called from the app's before_request), so that
    a signed-out caller always gets 401 and a caller of the wrong kind 403, whatever the body holds.

    A handler that resolves sessions in its writer is only checked for a cookie here; if the request then fails for
    another reason, ``confirm_caller`` does the full check first, so that the answer is the same as everywhere."""
    handler = request.route_handler
    settings: Settings = request.app.state.settings
    deferred = handler.opt.get(SESSION_IN_WRITER)
    if deferred and defer:
        if not session_token_from(request, settings):
            raise Problem(401, "Please sign in again.", code="not-signed-in")
        return
    parameters = handler.parsed_fn_signature.parameters
    wanted = [deferred] if deferred else [role for name, role in AUTH_PARAMETERS.items() if name in parameters]
    if not wanted:
        return
    async with request.app.state.sessionmaker() as db:
        principal = await request.app.state.resolve(db, settings, session_token_from(request, settings))
    if principal is None:
        raise Problem(401, "Please sign in again.", code="not-signed-in")
    if "patient" in wanted and not principal.is_patient:
        raise Problem(403, "Only patients keep a diary.", code="patients-only")
    if "clinician" in wanted and not principal.is_clinician:
        raise Problem(403, "This page is for clinicians.", code="clinicians-only")
    if needs_two_step(principal, settings) and not handler.opt.get(TWO_STEP_SET_UP):
        raise Problem(403, "Set up two-step sign-in before you see patients' diaries.", code="two-step-required")
    request.state.principal = principal


def needs_two_step(principal: Principal, settings: Settings) -> bool:
    return principal.is_clinician and settings.two_step_required and not principal.two_step


async def confirm_caller(request: Request[Any, Any, Any]) -> None:
    """For a handler that defers its session look-up: raises 401 or 403 if that is what the caller should get."""
    if getattr(request.state, "principal", None) is None:
        await authenticate(request, defer=False)


async def provide_principal(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await request.app.state.resolve(db, settings, session_token_from(request, settings))
    if principal is None:
        raise Problem(401, "Please sign in again.", code="not-signed-in")
    return principal


async def provide_patient(principal: Principal) -> Principal:
    """Diary routes act on the signed-in patient's own diary, never on an id taken from the request."""
    if not principal.is_patient:
        raise patients_only()
    return principal


async def provide_clinician(principal: Principal) -> Principal:
    if not principal.is_clinician:
        raise clinicians_only()
    return principal


async def viewer(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> tuple[Principal | None, str]:
    """Who is looking at a page open to all (if anyone), and the language to answer in: a patient's own choice, else
    the browser's."""
    principal = await request.app.state.resolve(db, settings, session_token_from(request, settings))
    if principal is not None and principal.is_patient and principal.language:
        return principal, principal.language
    return principal, best_language(request.headers.get("accept-language"))
