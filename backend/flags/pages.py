"""Flags on the patient's pages: "I've read this" (the clinician's actions are in clinician_pages.py). Plain forms
calling the same lifecycle as the JSON API (lifecycle.py)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, post
from litestar.di import Provide
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.flags import lifecycle
from backend.shared.dependencies import provide_patient
from backend.shared.principal import Principal


@post(
    "/flags/{flag_id:uuid}/read",
    include_in_schema=False,
    status_code=303,
    dependencies={"patient": Provide(provide_patient)},
)
async def flag_read_form(db: AsyncSession, patient: Principal, flag_id: uuid.UUID) -> Response[Any]:
    """ "I've read this" on the home page: the advice folds away until something new comes."""
    await lifecycle.mark_read(db, patient, flag_id)
    return Redirect("/#advice", status_code=303)


ROUTES: list[Any] = [flag_read_form]
