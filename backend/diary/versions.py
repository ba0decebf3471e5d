"""The replay and versioning rules every diary record follows, so that a phone can replay any upload safely.

Every record has a key chosen by the client (an episode's UUID, a check-in's day, a Penn rating's week) and a version.
The rules, the same for every record:

- no record under that key: create version 1 (a conditional request, with If-Match, gets 404 instead);
- the same content again: nothing is written and the stored record is the answer (a replay after a lost response);
- different content without If-Match: 428, because replacing needs the version the client based its edit on;
- different content with a stale If-Match: 412, nothing changes, and the answer carries the current version;
- a key that belongs to another patient: 409 for a create, 404 for anything else, never the other record;
- a deleted record is never brought back by a replayed create: 410.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Base
from backend.shared.problems import Problem, not_found

Row = TypeVar("Row", bound=Base)


def content_hash(data: msgspec.Struct, *, ignore: tuple[str, ...] = ("entered_at",)) -> str:
    """A fingerprint of what the patient said, leaving out when they happened to type it."""
    fields = {f: getattr(data, f) for f in data.__struct_fields__ if f not in ignore}
    return hashlib.sha256(msgspec.json.encode(fields)).hexdigest()


@dataclass
class WriteResult(Generic[Row]):
    row: Row
    created: bool


def parse_if_match(header: str | None) -> int | None:
    if header is None:
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or len(value) > 9:
        raise Problem(400, 'If-Match must be the version number you last saw, for example "3".', code="bad-if-match")
    return int(value)


def stale(row: Any) -> Problem:
    return Problem(
        412,
        f"This record was changed since you loaded it (now at version {row.version}). Nothing was saved; "
        "reload it, compare, and save again.",
        code="stale-version",
        headers={"ETag": f'"{row.version}"'},
        extra_members={"current_version": row.version},
    )


def verdict(row: Any, *, patient_id: uuid.UUID, fingerprint: str, if_match: int | None, what: str) -> str:
    """What a write of ``fingerprint`` under a key does, given the row stored there (or None), following the rules
    above: "create", "unchanged" (a replay) or "update"; anything else raises its problem. Pure, so that the one-by-one
    path below and the grouped episode writer (writer.py) decide alike."""
    if row is None:
        if if_match is not None:
            raise not_found(what)
        return "create"
    if row.patient_id != patient_id:
        if if_match is None:
            raise Problem(409, f"This {what} id is already in use. Generate a new id and try again.", code="id-taken")
        raise not_found(what)
    if getattr(row, "deleted_at", None) is not None:
        raise Problem(410, f"This {what} was deleted. It will not be brought back.", code="deleted")
    if row.content_hash == fingerprint:
        return "unchanged"
    if if_match is None:
        raise Problem(
            428,
            f"This {what} already exists with different content. To change it, send If-Match with the "
            "version you edited.",
            code="version-required",
            headers={"ETag": f'"{row.version}"'},
            extra_members={"current_version": row.version},
        )
    if if_match != row.version:
        raise stale(row)
    return "update"


async def versioned_write(
    db: AsyncSession,
    model: type[Row],
    *,
    patient_id: uuid.UUID,
    key: ColumnElement[bool],
    fingerprint: str,
    values: dict[str, Any],
    if_match: int | None,
    now: dt.datetime,
    new_row: dict[str, Any],
    what: str,
    audit: Callable[[str], Base] | None = None,
) -> WriteResult[Row]:
    """Create or replace one record following the rules above, in one transaction."""
    m: Any = model
    for _attempt in range(2):
        row: Any = (await db.execute(select(model).where(key))).scalar_one_or_none()
        action = verdict(row, patient_id=patient_id, fingerprint=fingerprint, if_match=if_match, what=what)
        if action == "create":
            created: Any = model(
                **new_row, **values, patient_id=patient_id, version=1, content_hash=fingerprint, updated_at=now
            )
            db.add(created)
            if audit is not None:
                db.add(audit("create"))
            try:
                await db.commit()
            except IntegrityError:
                # The same key arrived twice at once (two tabs, a retry racing the original): read what won.
                await db.rollback()
                continue
            return WriteResult(created, True)
        if action == "unchanged":
            return WriteResult(row, row.version == 1 and if_match is None)
        result = await db.execute(
            update(model)
            .where(and_(key, m.version == if_match))
            .values(**values, version=row.version + 1, content_hash=fingerprint, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await db.rollback()
            current: Any = (await db.execute(select(model).where(key))).scalar_one()
            raise stale(current)
        if audit is not None:
            db.add(audit("update"))
        await db.commit()
        fresh = (await db.execute(select(model).where(key).execution_options(populate_existing=True))).scalar_one()
        return WriteResult(fresh, False)
    raise Problem(409, f"This {what} is being saved by another request. Try again.", code="write-race")


async def tombstone(
    db: AsyncSession,
    model: type[Row],
    *,
    patient_id: uuid.UUID,
    key: ColumnElement[bool],
    if_match: int | None,
    now: dt.datetime,
    what: str,
    audit: Callable[[str], Base] | None = None,
) -> None:
    """Soft delete: the record stays as a tombstone so that other devices learn of the deletion when they sync."""
    m: Any = model
    row: Any = (await db.execute(select(model).where(key))).scalar_one_or_none()
    if row is None or row.patient_id != patient_id:
        raise not_found(what)
    if row.deleted_at is not None:
        return  # a replayed delete
    if if_match is not None and if_match != row.version:
        raise stale(row)
    await db.execute(
        update(model)
        .where(and_(key, m.version == row.version))
        .values(deleted_at=now, updated_at=now, version=row.version + 1)
        .execution_options(synchronize_session=False)
    )
    if audit is not None:
        db.add(audit("delete"))
    await db.commit()
