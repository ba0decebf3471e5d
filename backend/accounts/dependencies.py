"""Request-scoped dependencies: the database session and the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import resolve
from backend.config import Settings
from backend.shared.principal import Principal, session_token_from
from backend.shared.problems import Problem


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


# A handler that names one of these parameters needs a signed-in caller of that kind.
AUTH_PARAMETERS = {"principal": None, "patient": "patient", "clinician": "clinician"}
# A handler with this option needs a caller of the role it names, but leaves the session look-up to its own work: the
# grouped episode writer resolves the cookies of a whole batch of requests in one query (backend/diary/writer.py).
SESSION_IN_WRITER = "session_in_writer"
# A handler with this option is open to a clinician who has yet to set up two-step sign-in where it is required; every
# other one sends them to set it up first, before any patient's diary (ASVS 6.3.3).
TWO_STEP_SET_UP = "two_step_set_up"


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
        principal = await resolve(db, settings, session_token_from(request, settings))
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
        principal = await resolve(db, settings, session_token_from(request, settings))
    if principal is None:
        raise Problem(401, "Please sign in again.", code="not-signed-in")
    return principal


async def provide_patient(principal: Principal) -> Principal:
    """Diary routes act on the signed-in patient's own diary, never on an id taken from the request."""
    if not principal.is_patient:
        raise Problem(403, "Only patients keep a diary.", code="patients-only")
    return principal


async def provide_clinician(principal: Principal) -> Principal:
    if not principal.is_clinician:
        raise Problem(403, "This page is for clinicians.", code="clinicians-only")
    return principal
