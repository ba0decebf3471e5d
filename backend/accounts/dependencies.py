"""Request-scoped dependencies: the database session and the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import Principal, resolve, session_token_from
from backend.config import Settings
from backend.problems import Problem


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


# A handler that names one of these parameters needs a signed-in caller of that kind.
AUTH_PARAMETERS = {"principal": None, "patient": "patient", "clinician": "clinician"}


async def authenticate(request: Request[Any, Any, Any]) -> None:
    """Resolves the caller before anything else looks at the request (called from the app's before_request), so that
    a signed-out caller always gets 401 and a caller of the wrong kind 403, whatever the body holds."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    wanted = [role for name, role in AUTH_PARAMETERS.items() if name in parameters]
    if not wanted:
        return
    settings: Settings = request.app.state.settings
    async with request.app.state.sessionmaker() as db:
        principal = await resolve(db, settings, session_token_from(request, settings))
    if principal is None:
        raise Problem(401, "Please sign in again.", code="not-signed-in")
    if "patient" in wanted and not principal.is_patient:
        raise Problem(403, "Only patients keep a diary.", code="patients-only")
    if "clinician" in wanted and not principal.is_clinician:
        raise Problem(403, "This page is for clinicians.", code="clinicians-only")
    request.state.principal = principal


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
