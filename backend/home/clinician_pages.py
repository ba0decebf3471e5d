"""The clinician's home: the triage list of the patients who shared their diary, those who need attention first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.care.triage import audited_triage
from backend.config import Settings
from backend.db import utcnow
from backend.shared.caller import client_address
from backend.shared.charts import bars
from backend.shared.principal import Principal
from backend.shared.rendering import page

PERIODS = {"7": 7, "14": 14, "30": 30}


async def clinician_home(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, me: Principal
) -> Template:
    """The triage list: the patients who need attention first, with a small trend of the chosen period."""
    days = PERIODS.get(request.query_params.get("days", "7"), 7)
    rows = await audited_triage(db, me, days, utcnow(), address=client_address(request))
    sparks = {}
    for row in rows:  # each patient's own local days
        labels = [(row.first_day + dt.timedelta(days=i)).strftime("%d") for i in range(days)]
        counts = list(zip(labels, row.daily_counts, strict=True))
        sparks[row.patient_id] = bars(counts, f"Daily episodes, last {days} days")
    return page(request, settings, "clinician_home.html", me=me, rows=rows, days=days, sparks=sparks)
