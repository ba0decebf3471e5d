"""Flags on the clinician's report page: acknowledge, or resolve with a note. Plain forms calling the same lifecycle
as the JSON API (lifecycle.py)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.flags import lifecycle
from backend.shared.access import require_link
from backend.shared.caller import client_address
from backend.shared.dependencies import provide_clinician
from backend.shared.principal import Principal
from backend.shared.problems import Problem


@post(
    "/patients/{patient_id:uuid}/flags/{flag_id:uuid}/{action:str}",
    include_in_schema=False,
    status_code=303,
    dependencies={"clinician": Provide(provide_clinician)},
)
async def flag_action_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    clinician: Principal,
    patient_id: uuid.UUID,
    flag_id: uuid.UUID,
    action: str,
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),
) -> Response[Any]:
    """The report page's buttons: acknowledge a flag, or resolve it with a note."""
    if action not in {"acknowledge", "resolve"}:
        raise Problem(404, "Nothing lives at this address.", code="not-found")
    await require_link(db, clinician, patient_id, "annotate", f"flags.{action}", address=client_address(request))
    if action == "acknowledge":
        await lifecycle.acknowledge(db, clinician, patient_id, flag_id)
    else:
        await lifecycle.resolve(db, clinician, patient_id, flag_id, data.get("note", ""))
    return Redirect(f"/patients/{patient_id}/report#flags", status_code=303)


ROUTES: list[Any] = [flag_action_form]
