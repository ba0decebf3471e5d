"""What every handler may ask for by name: the database session, the settings, and a caller of a given kind.

The "principal" itself is provided by the accounts area (it resolves the session); "patient" and "clinician" only
check its role, so any area can ask for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
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


async def provide_patient(principal: Principal) -> Principal:
    """Diary routes act on the signed-in patient's own diary, never on an id taken from the request."""
    if not principal.is_patient:
        raise patients_only()
    return principal


async def provide_clinician(principal: Principal) -> Principal:
    if not principal.is_clinician:
        raise clinicians_only()
    return principal
