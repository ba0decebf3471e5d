"""db.insert_many, the grouped writer's INSERT: it must store exactly what SQLAlchemy's own executemany stores, on
SQLite and on PostgreSQL (time zones, UUIDs, JSON, booleans, text), since the rest of the app reads those rows back
through the ORM."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import Text, cast, insert, select

from backend.accounts.models import User
from backend.db import insert_many, make_engine
from backend.diary.models import Episode
from tests.conftest import run

EPISODES: Any = Episode.__table__
INSERT = insert(EPISODES)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
INSTANTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))]
    ),
)


@st.composite
def rows(draw: st.DrawFn, patient_id: uuid.UUID) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "id": uuid.uuid4(),
        "kind": draw(st.sampled_from(["spasm", "cramp", "flare"])),
        "started_at": draw(INSTANTS),
        "start_offset": draw(st.integers(-720, 840)),
        "ended_at": draw(st.none() | INSTANTS),
        "end_offset": draw(st.none() | st.integers(-720, 840)),
        "duration_seconds": draw(st.none() | st.integers(0, 86_400)),
        "ongoing": draw(st.booleans()),
        "intensity": draw(st.integers(0, 10)),
        "body_sites": draw(
            st.lists(st.fixed_dictionaries({"site": TEXT, "side": st.sampled_from(["left", "right"])}), max_size=3)
        ),
        "woke_from_sleep": draw(st.none() | st.booleans()),
        "triggers": draw(st.lists(TEXT, max_size=3)),
        "own_triggers": draw(st.lists(TEXT, max_size=2)),
        "symptoms": [],
        "context": [],
        "treatments": draw(
            st.lists(st.fixed_dictionaries({"kind": TEXT, "relief": st.none() | st.integers(0, 10)}), max_size=2)
        ),
        "impacts": [],
        "note": draw(st.none() | TEXT),
        "reporter": "self",
        "entered_at": draw(INSTANTS),
        "entered_offset": 0,
        "received_at": draw(INSTANTS),
        "updated_at": draw(INSTANTS),
        "version": 1,
        "content_hash": "0" * 64,
        "deleted_at": draw(st.none() | INSTANTS),
    }


def test_insert_many_stores_what_sqlalchemy_stores(app: Litestar) -> None:
    patient_id = uuid.uuid4()

    async def add_patient() -> None:
        engine = make_engine(app.state.settings)  # one per event loop: asyncpg's connections belong to theirs
        async with engine.begin() as conn:
            await conn.execute(
                insert(User),
                [
                    {
                        "id": patient_id,
                        "email": f"{patient_id.hex}@example.org",
                        "password_hash": "x",
                        "role": "patient",
                        "display_name": "Rows",
                        "created_at": dt.datetime.now(dt.UTC),
                    }
                ],
            )
        await engine.dispose()

    run(add_patient())

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(rows(patient_id), min_size=1, max_size=4))
    def check(batch: list[dict[str, Any]]) -> None:
        twins = [{**row, "id": uuid.uuid4()} for row in batch]

        async def write_and_read() -> tuple[list[Any], list[Any]]:
            engine = make_engine(app.state.settings)
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: insert_many(sync, INSERT, EPISODES, batch))
                await conn.execute(INSERT, twins)
            async with engine.connect() as conn:
                ours = [(await conn.execute(select(EPISODES).where(EPISODES.c.id == r["id"]))).one() for r in batch]
                theirs = [(await conn.execute(select(EPISODES).where(EPISODES.c.id == r["id"]))).one() for r in twins]
                # The stored text too: SQLite compares instants as text, so "10:00:00" and "10:00:00.000000" differ.
                raw = select(*[cast(c, Text).label(c.name) for c in EPISODES.c if c.name != "id"])
                ours_raw = [(await conn.execute(raw.where(EPISODES.c.id == r["id"]))).one() for r in batch]
                theirs_raw = [(await conn.execute(raw.where(EPISODES.c.id == r["id"]))).one() for r in twins]
            await engine.dispose()
            assert ours_raw == theirs_raw
            return ours, theirs

        ours, theirs = run(write_and_read())
        for mine, twin, sent in zip(ours, theirs, batch, strict=True):
            assert {**mine._asdict(), "id": None} == {**twin._asdict(), "id": None}
            assert mine.started_at == sent["started_at"] and mine.body_sites == sent["body_sites"]
            assert mine.note == sent["note"] and mine.woke_from_sleep == sent["woke_from_sleep"]

    check()
