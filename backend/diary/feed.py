"""The changes feed a phone uses to keep its copy of the diary current (``GET /api/v1/sync?since=<cursor>``).

Each record type is read in the order of its last change, (updated_at, key), from the position the cursor holds for
that type. A phone starts with no cursor (everything), stores the cursor of each answer and asks again with it; while
``more`` is true it asks at once. Deleted episodes and regimens come back as tombstones, so the phone drops its copy.

Why positions step back a little: a transaction stamps ``updated_at`` before it commits, so a write stamped just before
the newest row seen may become visible only after this read. Once a type is read to its end, its position is moved no
later than ``OVERLAP`` ago; the next answer repeats those rows, which the phone applies by version, harmlessly. A
commit later than that after its stamp (longer than the pool and lock timeouts allow) could be missed; a per-patient
change counter bumped inside each write would remove even that window, at the price of one more write per entry.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.diary import records
from backend.diary.models import CheckIn, Episode, PennRating, Regimen
from backend.diary.schemas import SyncPage, Tombstone
from backend.shared import instants

OVERLAP = dt.timedelta(seconds=60)
MAX_PAGE = 500


# type code in the cursor -> (model, its key column)
FEEDS: dict[str, tuple[Any, Any]] = {
    "e": (Episode, Episode.id),
    "c": (CheckIn, CheckIn.day),
    "p": (PennRating, PennRating.week),
    "r": (Regimen, Regimen.id),
}
Position = tuple[dt.datetime, str | None]


def encode_cursor(positions: dict[str, Position]) -> str:
    raw = {code: [when.isoformat(), key] for code, (when, key) in positions.items()}
    return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode()


NOT_OURS = "is not a cursor this server gave out; start again without it"


def decode_cursor(cursor: str | None) -> dict[str, Position]:
    """The positions in a cursor, each a time in the plausible range and a key of its record type's form; anything
    else is a 400 naming ``since`` (a phone that gets one starts again without a cursor)."""
    if not cursor:
        return {}
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        positions: dict[str, Position] = {}
        for code, (when, key) in raw.items():
            moment = dt.datetime.fromisoformat(when)
            if code not in FEEDS or instants.instant_problem(moment) or not (key is None or isinstance(key, str)):
                raise ValueError(code)
            if key is not None:
                _key_value(FEEDS[code][1], key)
            positions[code] = (moment, key)
        return positions
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise instants.bad_cursor("since", NOT_OURS) from exc


def _key_value(column: Any, key: str) -> Any:
    if column.type.python_type is uuid.UUID:
        return uuid.UUID(key)
    if column.type.python_type is dt.date:
        return dt.date.fromisoformat(key)
    return key


async def _read(
    db: AsyncSession, patient_id: uuid.UUID, code: str, position: Position | None, limit: int, now: dt.datetime
) -> tuple[list[Any], Position | None, bool]:
    model, key_column = FEEDS[code]
    query = select(model).where(model.patient_id == patient_id)
    if position is not None:
        when, key = position
        if key is None:
            query = query.where(model.updated_at >= when)
        else:
            after = _key_value(key_column, key)  # decode_cursor has checked that it parses
            query = query.where(or_(model.updated_at > when, and_(model.updated_at == when, key_column > after)))
    rows = list((await db.execute(query.order_by(model.updated_at, key_column).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        return rows, (rows[-1].updated_at, str(getattr(rows[-1], key_column.key))), True
    latest = rows[-1].updated_at if rows else (position[0] if position else None)
    if latest is None:
        return rows, None, False
    if latest > now - OVERLAP:
        return rows, (now - OVERLAP, None), False
    return rows, (latest, str(getattr(rows[-1], key_column.key))) if rows else position, False


async def changes(db: AsyncSession, patient_id: uuid.UUID, since: str | None, limit: int) -> SyncPage:
    """What changed in the patient's diary since the cursor, tombstones included, at most ``limit`` of each type."""
    positions = decode_cursor(since)
    now = utcnow()
    found: dict[str, list[Any]] = {}
    next_positions: dict[str, Position] = {}
    more = False
    for code in FEEDS:
        rows, position, partial = await _read(db, patient_id, code, positions.get(code), limit, now)
        found[code] = rows
        more = more or partial
        if position is not None:
            next_positions[code] = position
    live = {code: [r for r in rows if getattr(r, "deleted_at", None) is None] for code, rows in found.items()}
    deleted = [
        Tombstone(type={"e": "episode", "r": "regimen"}[code], id=r.id, version=r.version, deleted_at=r.deleted_at)
        for code in ("e", "r")
        for r in found[code]
        if r.deleted_at is not None
    ]
    return SyncPage(
        episodes=[records.episode_out(r) for r in live["e"]],
        checkins=[records.checkin_out(r) for r in live["c"]],
        penn=[records.penn_out(r) for r in live["p"]],
        regimens=[records.regimen_out(r) for r in live["r"]],
        deleted=deleted,
        cursor=encode_cursor(next_positions),
        more=more,
        server_time=now,
    )
