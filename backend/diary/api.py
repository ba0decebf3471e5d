"""The patient's own diary over JSON: /api/v1/episodes, /checkins, /penn, /regimens, /profile and /catalog.

Thin: each handler reads the request (path, body, If-Match, the caller's address) and calls diary/services.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary import catalog, doses, feed, records, services
from backend.diary.dependencies import TheSafety, TheWrites
from backend.diary.models import Episode, Regimen
from backend.diary.schemas import (
    ISO_WEEK,
    CheckInIn,
    CheckInOut,
    DoseAnswerIn,
    DoseIn,
    DoseOut,
    EpisodeIn,
    EpisodeOut,
    EpisodePage,
    PennIn,
    PennOut,
    ProfileIn,
    ProfileOut,
    RegimenIn,
    RegimenOut,
    SyncPage,
)
from backend.diary.services import Writes
from backend.diary.versions import parse_if_match
from backend.shared import instants
from backend.shared.caller import client_address, session_token_from
from backend.shared.dependencies import SESSION_IN_WRITER, confirm_caller, provide_patient
from backend.shared.principal import Principal
from backend.shared.problems import Problem

NO_STORE = {"Cache-Control": "no-store"}
IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=False,
        description="The version you edited (its format is checked by parse_if_match)",
    ),
]
MAX_PAGE = 500
TIME_RANGE = {"pattern": instants.TIME_PATTERN}  # the years the server takes (backend/shared/instants.py)
DAY_RANGE = {"pattern": instants.DAY_PATTERN}
Week = Annotated[str, Parameter(pattern=ISO_WEEK, description="ISO week, e.g. 2026-W48")]


def _headers(version: int, **extra: str) -> dict[str, str]:
    return {"ETag": f'"{version}"', **NO_STORE, **extra}


def _answer(out: Any, created: bool, **extra: str) -> Response[Any]:
    return Response(out, status_code=201 if created else 200, headers=_headers(out.version, **extra))


class EpisodeController(Controller):
    path = "/api/v1/episodes"
    tags = ["episodes"]
    dependencies = {"patient": Provide(provide_patient)}

    @put(
        "/{episode_id:uuid}",
        status_code=200,
        summary="Create or replace an episode (idempotent)",
        opt={SESSION_IN_WRITER: "patient"},
    )
    async def put_episode(
        self, request: Request[Any, Any, Any], episode_id: uuid.UUID, data: EpisodeIn, if_match: IfMatch = None
    ) -> Response[EpisodeOut]:
        # The hot path of the whole service: no session of its own, the caller is resolved in the writer's batch, and
        # no dependency to resolve (the writes and the settings are the app's own, read from its state).
        writes: Writes = request.app.state.writes
        token = session_token_from(request, request.app.state.settings)
        try:
            out, created = await writes.episode(
                None, episode_id, data, parse_if_match(if_match), address=client_address(request), token=token
            )
        except Problem as problem:
            if problem.status_code not in {401, 403}:
                await confirm_caller(request)  # a signed-out caller learns nothing about its body
            raise
        return _answer(out, created, **({"Location": f"/api/v1/episodes/{episode_id}"} if created else {}))

    @get("/{episode_id:uuid}", summary="One episode")
    async def get_episode(
        self, db: AsyncSession, safety: TheSafety, patient: Principal, episode_id: uuid.UUID
    ) -> Response[EpisodeOut]:
        row = await services.episode_row(db, patient.user_id, episode_id)
        out = records.episode_out(row)
        out.safety = await safety.notices(db, patient, episode_id=episode_id)
        return Response(out, headers=_headers(row.version))

    @delete("/{episode_id:uuid}", status_code=204, summary="Delete an episode (kept as a tombstone for sync)")
    async def delete_episode(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        episode_id: uuid.UUID,
        if_match: IfMatch = None,
    ) -> Response[None]:
        address = client_address(request)
        await writes.delete(db, patient, Episode, episode_id, parse_if_match(if_match), address=address)
        return Response(None, status_code=204, headers=NO_STORE)

    @get("/", summary="Episodes, newest first, filtered by start time")
    async def list_episodes(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        patient: Principal,
        start: Annotated[dt.datetime | None, Parameter(query="from", required=False, schema_extra=TIME_RANGE)] = None,
        end: Annotated[dt.datetime | None, Parameter(query="to", required=False, schema_extra=TIME_RANGE)] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Response[EpisodePage]:
        for name in ("from", "to"):
            raw = request.query_params.get(name)
            if raw is not None and not re.match(r"^\d{4}-\d{2}-\d{2}T", raw):
                raise instants.bad_parameter(name, "must be a date and time such as 2026-11-01T00:00:00Z")
        page = await services.episode_page(db, patient.user_id, start=start, end=end, limit=limit, cursor=cursor)
        return Response(page, headers=NO_STORE)


class CheckInController(Controller):
    path = "/api/v1/checkins"
    tags = ["check-ins"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{day:date}", status_code=200, summary="Create or replace the check-in of a day (idempotent)")
    async def put_checkin(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        day: dt.date,
        data: CheckInIn,
        if_match: IfMatch = None,
    ) -> Response[CheckInOut]:
        address = client_address(request)
        out, created = await writes.checkin(db, patient, day, data, parse_if_match(if_match), address=address)
        return _answer(out, created)

    @get("/{day:date}", summary="The check-in of one day")
    async def get_checkin(
        self, db: AsyncSession, safety: TheSafety, patient: Principal, day: dt.date
    ) -> Response[CheckInOut]:
        row = await services.checkin_row(db, patient.user_id, day)
        out = records.checkin_out(row)
        out.safety = await safety.notices(db, patient, day=day)
        return Response(out, headers=_headers(row.version))

    @get("/", summary="Check-ins in a range of days, newest first")
    async def list_checkins(
        self,
        db: AsyncSession,
        patient: Principal,
        start: Annotated[dt.date | None, Parameter(query="from", required=False, schema_extra=DAY_RANGE)] = None,
        end: Annotated[dt.date | None, Parameter(query="to", required=False, schema_extra=DAY_RANGE)] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 100,
    ) -> Response[list[CheckInOut]]:
        found = await services.checkins(db, patient.user_id, start=start, end=end, limit=limit)
        return Response(found, headers=NO_STORE)


class PennController(Controller):
    path = "/api/v1/penn"
    tags = ["penn-scale"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{week:str}", status_code=200, summary="Create or replace the Penn spasm scale rating of an ISO week")
    async def put_penn(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        week: Week,
        data: PennIn,
        if_match: IfMatch = None,
    ) -> Response[PennOut]:
        address = client_address(request)
        out, created = await writes.penn(db, patient, week, data, parse_if_match(if_match), address=address)
        return _answer(out, created)

    @get("/", summary="All Penn ratings, newest first")
    async def list_penn(self, db: AsyncSession, patient: Principal) -> Response[list[PennOut]]:
        return Response(await services.penn_ratings(db, patient.user_id), headers=NO_STORE)


class RegimenController(Controller):
    path = "/api/v1/regimens"
    tags = ["regimens"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{regimen_id:uuid}", status_code=200, summary="Create or replace a part of the treatment plan")
    async def put_regimen(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        regimen_id: uuid.UUID,
        data: RegimenIn,
        if_match: IfMatch = None,
    ) -> Response[RegimenOut]:
        address = client_address(request)
        out, created = await writes.regimen(db, patient, regimen_id, data, parse_if_match(if_match), address=address)
        return _answer(out, created)

    @get("/{regimen_id:uuid}", summary="One part of the treatment plan")
    async def get_regimen(self, db: AsyncSession, patient: Principal, regimen_id: uuid.UUID) -> Response[RegimenOut]:
        row = await services.regimen_row(db, patient.user_id, regimen_id)
        return Response(records.regimen_out(row), headers=_headers(row.version))

    @delete("/{regimen_id:uuid}", status_code=204, summary="Remove a regimen entered by mistake")
    async def delete_regimen(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        regimen_id: uuid.UUID,
        if_match: IfMatch = None,
    ) -> Response[None]:
        address = client_address(request)
        await writes.delete(db, patient, Regimen, regimen_id, parse_if_match(if_match), address=address)
        return Response(None, status_code=204, headers=NO_STORE)

    @put(
        "/{regimen_id:uuid}/doses/{slot:str}",
        status_code=200,
        summary="Answer one dose of the plan by its slot (taken, skipped, later; idempotent)",
    )
    async def put_dose_by_slot(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        regimen_id: uuid.UUID,
        slot: Annotated[str, Parameter(max_length=16, description="The local day and time, e.g. 2026-12-04T08:00")],
        data: DoseAnswerIn,
    ) -> Response[DoseOut]:
        address = client_address(request)
        out, created = await writes.dose(db, patient, regimen_id, slot, data.status, address=address)
        return _answer(out, created)

    @get("/", summary="The treatment plan, most recent start first")
    async def list_regimens(self, db: AsyncSession, patient: Principal) -> Response[list[RegimenOut]]:
        return Response(await services.regimens(db, patient.user_id), headers=NO_STORE)


class DoseController(Controller):
    path = "/api/v1/doses"
    tags = ["doses"]
    dependencies = {"patient": Provide(provide_patient)}

    @put(
        "/{dose_id:uuid}", status_code=200, summary="Answer one dose of the plan by an id of your choosing (idempotent)"
    )
    async def put_dose(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        dose_id: uuid.UUID,
        data: DoseIn,
    ) -> Response[DoseOut]:
        address = client_address(request)
        out, created = await writes.dose(
            db, patient, data.regimen_id, data.scheduled_for, data.status, dose_id=dose_id, address=address
        )
        return _answer(out, created)

    @get("/", summary="Answered doses in a range of local days, newest first")
    async def list_doses(
        self,
        db: AsyncSession,
        patient: Principal,
        start: Annotated[dt.date | None, Parameter(query="from", required=False, schema_extra=DAY_RANGE)] = None,
        end: Annotated[dt.date | None, Parameter(query="to", required=False, schema_extra=DAY_RANGE)] = None,
    ) -> Response[list[DoseOut]]:
        return Response(await doses.doses(db, patient.user_id, start=start, end=end), headers=NO_STORE)


class ProfileController(Controller):
    path = "/api/v1/profile"
    tags = ["profile"]
    dependencies = {"patient": Provide(provide_patient)}

    @get("/", summary="The patient's profile")
    async def get_profile(self, db: AsyncSession, patient: Principal) -> Response[ProfileOut]:
        row = await services.profile_row(db, patient.user_id)
        return Response(records.profile_out(row), headers=_headers(row.version))

    @put("/", summary="Replace the patient's profile (If-Match required)")
    async def put_profile(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        writes: TheWrites,
        patient: Principal,
        data: ProfileIn,
        if_match: IfMatch = None,
    ) -> Response[ProfileOut]:
        address = client_address(request)
        out = await writes.profile(db, patient, data, parse_if_match(if_match), address=address)
        return Response(out, headers=_headers(out.version))


@get(
    "/api/v1/sync",
    tags=["sync"],
    summary="What changed in my diary since the cursor, tombstones included",
    dependencies={"patient": Provide(provide_patient)},
)
async def sync_feed(
    db: AsyncSession,
    patient: Principal,
    since: Annotated[str | None, Parameter(max_length=1000, description="The cursor of the previous answer")] = None,
    limit: Annotated[
        int, Parameter(ge=1, le=feed.MAX_PAGE, description="At most this many records of each type")
    ] = 200,
) -> Response[SyncPage]:
    return Response(await feed.changes(db, patient.user_id, since, limit), headers=NO_STORE)


@get("/api/v1/catalog", tags=["catalog"], summary="The controlled lists: kinds, body sites, triggers, symptoms...")
async def get_catalog() -> dict[str, object]:
    return catalog.as_json()


ROUTES: list[Any] = [
    EpisodeController,
    CheckInController,
    PennController,
    RegimenController,
    DoseController,
    ProfileController,
    get_catalog,
    sync_feed,
]
