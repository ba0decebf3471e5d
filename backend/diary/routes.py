"""The patient's own diary over JSON: /api/v1/episodes, /checkins, /penn, /regimens, /profile and /catalog.

Every query here is scoped to the signed-in patient; a record of someone else answers exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import confirm_caller
from backend.db import Base, utcnow
from backend.diary import catalog, records, validation
from backend.diary.models import CheckIn, Episode, PatientProfile, PennRating, Regimen
from backend.diary.schemas import (
    CheckInIn,
    CheckInOut,
    EpisodeIn,
    EpisodeOut,
    EpisodePage,
    PennIn,
    PennOut,
    ProfileIn,
    ProfileOut,
    RegimenIn,
    RegimenOut,
    SafetyNotice,
)
from backend.diary.services import content_hash, parse_if_match, tombstone, versioned_write
from backend.diary.writer import EpisodeWrite
from backend.flags import services as flags
from backend.flags.rows import day_from_row, episode_from_row
from backend.flags.wording import patient_words
from backend.shared import instants, limits
from backend.shared.audit import audit_event
from backend.shared.dependencies import SESSION_IN_WRITER, provide_patient
from backend.shared.principal import Principal, client_address, session_token_from
from backend.shared.problems import FieldError, Problem, invalid, not_found

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
TIME_RANGE = {"pattern": instants.TIME_PATTERN}  # the years the server takes (backend/instants.py)
DAY_RANGE = {"pattern": instants.DAY_PATTERN}


def _headers(version: int, **extra: str) -> dict[str, str]:
    return {"ETag": f'"{version}"', **NO_STORE, **extra}


def _auditor(request: Request[Any, Any, Any], patient: Principal, entity: str) -> Any:
    def make(action: str) -> Base:
        return audit_event(patient, f"{entity.split(':')[0]}.{action}", patient_id=patient.user_id, entity=entity,
                           address=client_address(request))  # fmt: skip

    return make


def _reevaluate(request: Request[Any, Any, Any], patient: Principal) -> None:
    """The full rule set runs after the answer (once per burst of writes); urgent rules already ran in the request."""
    request.app.state.evaluator.schedule(patient.user_id)


async def _notices(
    db: AsyncSession,
    patient: Principal,
    *,
    episode_id: uuid.UUID | None = None,
    day: dt.date | None = None,
    checked: list[flags.SafetyNotice] | None = None,
) -> list[SafetyNotice]:
    """The urgent advice that rests on one entry, in the patient's language; ``checked`` adds the notices of an
    urgent check just run that are not flags (an urgent rule that could not be checked)."""
    found = await flags.safety_for(db, patient.user_id, episode_id=episode_id, day=day)
    found += [n for n in checked or () if n.unchecked]
    if not found:
        return []
    profile = await db.get(PatientProfile, patient.user_id)
    language = profile.language if profile else "en"
    return [SafetyNotice(rule_id=n.rule_id, urgency=n.urgency, message=patient_words(n.rule_id, n.message, language))
            for n in found]  # fmt: skip


def _encode_cursor(started_at: dt.datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{row_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        started, row_id = text.split("|")
        moment, after = dt.datetime.fromisoformat(started), uuid.UUID(row_id)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise instants.bad_cursor("cursor", "is not a cursor this server gave out") from exc
    if instants.instant_problem(moment):
        raise instants.bad_cursor("cursor", "is not a cursor this server gave out")
    return moment, after


def _range(errors: list[FieldError], start: Any, end: Any) -> None:
    if start is not None and end is not None and end < start:
        errors.append(FieldError("to", "must not be before from"))


async def save_episode(request: Request[Any, Any, Any], db: AsyncSession | None, patient: Principal | None,
                       episode_id: uuid.UUID, data: EpisodeIn, if_match: int | None) -> tuple[EpisodeOut, bool]:  # fmt: skip
    """The one write path of an episode, for the API and the browser's form alike.

    The write itself joins the process's grouped writer (writer.py); ``patient`` None means the writer resolves the
    request's session cookie in its batch. A form passes its session ``db``, whose connection is handed back first:
    on SQLite the app has one pooled connection, which the urgent check below may need."""
    validation.check_episode(data, utcnow())
    if db is not None:
        await db.commit()
    token = None if patient else session_token_from(request, request.app.state.settings)
    job = EpisodeWrite(episode_id, data, if_match, client_address(request), token=token, principal=patient)
    written = await request.app.state.writer.write(job)
    out = records.episode_out(written.row)
    if written.urgent_check:
        # The screen could not clear this write (a warning sign, or rules that need the weeks before it): the urgent
        # rules run now, so that the answer to this very write carries the safety advice.
        async with request.app.state.sessionmaker() as session:
            episode = episode_from_row(written.row)
            checked = await flags.urgent_check(session, written.principal.user_id, written.now, episode=episode)
            if checked:
                out.safety = await _notices(session, written.principal, episode_id=episode_id, checked=checked)
    _reevaluate(request, written.principal)
    return out, written.created


async def episodes_on(db: AsyncSession, patient_id: uuid.UUID, day: dt.date) -> list[uuid.UUID]:
    """The episodes counted on a local day (each by the offset its phone recorded, as the rules count them)."""
    low = dt.datetime.combine(day, dt.time(), dt.UTC) - dt.timedelta(hours=15)
    high = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(hours=15)
    rows = await db.execute(
        select(Episode.id, Episode.started_at, Episode.start_offset).where(
            Episode.patient_id == patient_id,
            Episode.deleted_at.is_(None),
            Episode.started_at >= low,
            Episode.started_at < high,
        )
    )
    return [r.id for r in rows if validation.local_day(r.started_at, r.start_offset) == day]


async def save_checkin(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, day: dt.date,
                       data: CheckInIn, if_match: int | None) -> tuple[CheckInOut, bool]:  # fmt: skip
    now = utcnow()
    validation.check_checkin(day, data, now)
    if data.no_episodes and (logged := await episodes_on(db, patient.user_id, day)):
        raise validation.no_episodes_contradicted(day, logged)
    await limits.diary_write(db, request.app.state.settings, patient.user_id)
    result = await versioned_write(
        db, CheckIn, patient_id=patient.user_id, key=and_(CheckIn.patient_id == patient.user_id, CheckIn.day == day),
        fingerprint=content_hash(data), values=records.checkin_values(data), if_match=if_match,
        now=now, new_row={"day": day, "entered_at": data.entered_at or now}, what="check-in",
        audit=_auditor(request, patient, f"checkin:{day.isoformat()}"),
    )  # fmt: skip
    out = records.checkin_out(result.row)
    checked = await flags.urgent_check(db, patient.user_id, now, day=day_from_row(result.row))
    if checked:
        out.safety = await _notices(db, patient, day=day, checked=checked)
    _reevaluate(request, patient)
    return out, result.created


async def save_penn(request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, week: str, data: PennIn,
                    if_match: int | None) -> tuple[PennOut, bool]:  # fmt: skip
    now = utcnow()
    validation.check_penn(week, data, now)
    await limits.diary_write(db, request.app.state.settings, patient.user_id)
    result = await versioned_write(
        db, PennRating, patient_id=patient.user_id,
        key=and_(PennRating.patient_id == patient.user_id, PennRating.week == week),
        fingerprint=content_hash(data), values=records.penn_values(data), if_match=if_match,
        now=now, new_row={"week": week, "entered_at": data.entered_at or now}, what="Penn rating",
        audit=_auditor(request, patient, f"penn:{week}"),
    )  # fmt: skip
    _reevaluate(request, patient)
    return records.penn_out(result.row), result.created


class EpisodeController(Controller):
    path = "/api/v1/episodes"
    tags = ["episodes"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{episode_id:uuid}", status_code=200, summary="Create or replace an episode (idempotent)",
         opt={SESSION_IN_WRITER: "patient"})  # fmt: skip
    async def put_episode(
        self, request: Request[Any, Any, Any], episode_id: uuid.UUID, data: EpisodeIn, if_match: IfMatch = None
    ) -> Response[EpisodeOut]:
        # The hot path of the whole service: no session of its own, the caller is resolved in the writer's batch.
        try:
            out, created = await save_episode(request, None, None, episode_id, data, parse_if_match(if_match))
        except Problem as problem:
            if problem.status_code not in {401, 403}:
                await confirm_caller(request)  # a signed-out caller learns nothing about its body
            raise
        extra = {"Location": f"/api/v1/episodes/{episode_id}"} if created else {}
        return Response(out, status_code=201 if created else 200, headers=_headers(out.version, **extra))

    @get("/{episode_id:uuid}", summary="One episode")
    async def get_episode(self, db: AsyncSession, patient: Principal, episode_id: uuid.UUID) -> Response[EpisodeOut]:
        row = await db.get(Episode, (patient.user_id, episode_id))
        if row is None or row.deleted_at is not None:
            raise not_found("episode")
        out = records.episode_out(row)
        out.safety = await _notices(db, patient, episode_id=episode_id)
        return Response(out, headers=_headers(row.version))

    @delete("/{episode_id:uuid}", status_code=204, summary="Delete an episode (kept as a tombstone for sync)")
    async def delete_episode(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, episode_id: uuid.UUID,
        if_match: IfMatch = None,
    ) -> Response[None]:  # fmt: skip
        await limits.diary_write(db, request.app.state.settings, patient.user_id)
        await tombstone(
            db, Episode, patient_id=patient.user_id, key=Episode.id == episode_id, if_match=parse_if_match(if_match),
            now=utcnow(), what="episode", audit=_auditor(request, patient, f"episode:{episode_id}"),
        )  # fmt: skip
        _reevaluate(request, patient)
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
        instants.checked_instant(start, "from")
        instants.checked_instant(end, "to")
        after = _decode_cursor(cursor) if cursor else None
        errors: list[FieldError] = []
        _range(errors, start, end)
        if errors:
            raise invalid(errors)
        query = select(Episode).where(Episode.patient_id == patient.user_id, Episode.deleted_at.is_(None))
        if start is not None:
            query = query.where(Episode.started_at >= start)
        if end is not None:
            query = query.where(Episode.started_at < end)
        if after is not None:
            after_time, after_id = after
            query = query.where(
                or_(Episode.started_at < after_time, and_(Episode.started_at == after_time, Episode.id < after_id))
            )
        rows = (
            (await db.execute(query.order_by(Episode.started_at.desc(), Episode.id.desc()).limit(limit + 1)))
            .scalars()
            .all()
        )
        page = rows[:limit]
        next_cursor = _encode_cursor(page[-1].started_at, page[-1].id) if len(rows) > limit else None
        return Response(
            EpisodePage(items=[records.episode_out(r) for r in page], next_cursor=next_cursor), headers=NO_STORE
        )


class CheckInController(Controller):
    path = "/api/v1/checkins"
    tags = ["check-ins"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{day:date}", status_code=200, summary="Create or replace the check-in of a day (idempotent)")
    async def put_checkin(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, day: dt.date, data: CheckInIn,
        if_match: IfMatch = None,
    ) -> Response[CheckInOut]:  # fmt: skip
        out, created = await save_checkin(request, db, patient, day, data, parse_if_match(if_match))
        return Response(out, status_code=201 if created else 200, headers=_headers(out.version))

    @get("/{day:date}", summary="The check-in of one day")
    async def get_checkin(self, db: AsyncSession, patient: Principal, day: dt.date) -> Response[CheckInOut]:
        row = await db.get(CheckIn, (patient.user_id, day))
        if row is None:
            raise not_found("check-in")
        out = records.checkin_out(row)
        out.safety = await _notices(db, patient, day=day)
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
        instants.checked_day(start, "from")
        instants.checked_day(end, "to")
        errors: list[FieldError] = []
        _range(errors, start, end)
        if errors:
            raise invalid(errors)
        query = select(CheckIn).where(CheckIn.patient_id == patient.user_id)
        if start is not None:
            query = query.where(CheckIn.day >= start)
        if end is not None:
            query = query.where(CheckIn.day <= end)
        rows = (await db.execute(query.order_by(CheckIn.day.desc()).limit(limit))).scalars().all()
        return Response([records.checkin_out(r) for r in rows], headers=NO_STORE)


class PennController(Controller):
    path = "/api/v1/penn"
    tags = ["penn-scale"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{week:str}", status_code=200, summary="Create or replace the Penn spasm scale rating of an ISO week")
    async def put_penn(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal,
        week: Annotated[str, Parameter(pattern=r"^[0-9]{4}-W[0-9]{2}$", description="ISO week, e.g. 2026-W48")],
        data: PennIn, if_match: IfMatch = None,
    ) -> Response[PennOut]:  # fmt: skip
        out, created = await save_penn(request, db, patient, week, data, parse_if_match(if_match))
        return Response(out, status_code=201 if created else 200, headers=_headers(out.version))

    @get("/", summary="All Penn ratings, newest first")
    async def list_penn(self, db: AsyncSession, patient: Principal) -> Response[list[PennOut]]:
        rows = (
            (
                await db.execute(
                    select(PennRating).where(PennRating.patient_id == patient.user_id).order_by(PennRating.week.desc())
                )
            )
            .scalars()
            .all()
        )
        return Response([records.penn_out(r) for r in rows], headers=NO_STORE)


class RegimenController(Controller):
    path = "/api/v1/regimens"
    tags = ["regimens"]
    dependencies = {"patient": Provide(provide_patient)}

    @put("/{regimen_id:uuid}", status_code=200, summary="Create or replace a part of the treatment plan")
    async def put_regimen(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, regimen_id: uuid.UUID,
        data: RegimenIn, if_match: IfMatch = None,
    ) -> Response[RegimenOut]:  # fmt: skip
        now = utcnow()
        validation.check_regimen(data, now)
        await limits.diary_write(db, request.app.state.settings, patient.user_id)
        result = await versioned_write(
            db, Regimen, patient_id=patient.user_id, key=Regimen.id == regimen_id, fingerprint=content_hash(data),
            values=records.regimen_values(data), if_match=parse_if_match(if_match), now=now,
            new_row={"id": regimen_id, "entered_at": data.entered_at or now}, what="regimen",
            audit=_auditor(request, patient, f"regimen:{regimen_id}"),
        )  # fmt: skip
        _reevaluate(request, patient)
        return Response(records.regimen_out(result.row), status_code=201 if result.created else 200,
                        headers=_headers(result.row.version))  # fmt: skip

    @get("/{regimen_id:uuid}", summary="One part of the treatment plan")
    async def get_regimen(self, db: AsyncSession, patient: Principal, regimen_id: uuid.UUID) -> Response[RegimenOut]:
        row = await db.get(Regimen, (patient.user_id, regimen_id))
        if row is None or row.deleted_at is not None:
            raise not_found("regimen")
        return Response(records.regimen_out(row), headers=_headers(row.version))

    @delete("/{regimen_id:uuid}", status_code=204, summary="Remove a regimen entered by mistake")
    async def delete_regimen(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, regimen_id: uuid.UUID,
        if_match: IfMatch = None,
    ) -> Response[None]:  # fmt: skip
        await limits.diary_write(db, request.app.state.settings, patient.user_id)
        await tombstone(
            db, Regimen, patient_id=patient.user_id, key=Regimen.id == regimen_id, if_match=parse_if_match(if_match),
            now=utcnow(), what="regimen", audit=_auditor(request, patient, f"regimen:{regimen_id}"),
        )  # fmt: skip
        _reevaluate(request, patient)
        return Response(None, status_code=204, headers=NO_STORE)

    @get("/", summary="The treatment plan, most recent start first")
    async def list_regimens(self, db: AsyncSession, patient: Principal) -> Response[list[RegimenOut]]:
        rows = (
            (
                await db.execute(
                    select(Regimen)
                    .where(Regimen.patient_id == patient.user_id, Regimen.deleted_at.is_(None))
                    .order_by(Regimen.start_date.desc())
                )
            )
            .scalars()
            .all()
        )
        return Response([records.regimen_out(r) for r in rows], headers=NO_STORE)


class ProfileController(Controller):
    path = "/api/v1/profile"
    tags = ["profile"]
    dependencies = {"patient": Provide(provide_patient)}

    @get("/", summary="The patient's profile")
    async def get_profile(self, db: AsyncSession, patient: Principal) -> Response[ProfileOut]:
        row = await db.get(PatientProfile, patient.user_id)
        if row is None:
            raise not_found("profile")
        return Response(records.profile_out(row), headers=_headers(row.version))

    @put("/", summary="Replace the patient's profile (If-Match required)")
    async def put_profile(
        self, request: Request[Any, Any, Any], db: AsyncSession, patient: Principal, data: ProfileIn,
        if_match: IfMatch = None,
    ) -> Response[ProfileOut]:  # fmt: skip
        validation.check_profile(data)
        version = parse_if_match(if_match)
        row = await db.get(PatientProfile, patient.user_id)
        if row is None:
            raise not_found("profile")
        if version is None:
            raise Problem(428, "Send If-Match with the profile version you edited.", code="version-required",
                          headers={"ETag": f'"{row.version}"'})  # fmt: skip
        if version != row.version:
            raise Problem(412, f"The profile changed since you loaded it (now version {row.version}). Nothing was saved.",
                          code="stale-version", headers={"ETag": f'"{row.version}"'},
                          extra_members={"current_version": row.version})  # fmt: skip
        for name, value in records.profile_values(data).items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = utcnow()
        db.add(audit_event(patient, "profile.update", patient_id=patient.user_id, address=client_address(request)))
        await db.commit()
        _reevaluate(request, patient)
        return Response(records.profile_out(row), headers=_headers(row.version))


@get("/api/v1/catalog", tags=["catalog"], summary="The controlled lists: kinds, body sites, triggers, symptoms...")
async def get_catalog() -> dict[str, object]:
    return catalog.as_json()


DIARY_ROUTES: list[Any] = [
    EpisodeController,
    CheckInController,
    PennController,
    RegimenController,
    ProfileController,
    get_catalog,
]
