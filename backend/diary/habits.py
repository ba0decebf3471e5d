"""The patient's own habits in the diary, so that their usual choices come first: the places of their recent
episodes, the last episode ("same as last time"), and the triggers, treatments and effects they pick most often.

Load (one query), then plain counting over the loaded episodes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.diary.models import Episode

RECENT = 30  # how far back the habits look: about a month for someone with a spasm a day


@dataclass(frozen=True, slots=True)
class LastTime:
    intensity: int
    places: list[str]  # "calf:left", as the body picture's values


async def recent_episodes(db: AsyncSession, patient_id: uuid.UUID, limit: int = RECENT) -> list[Episode]:
    query = (
        select(Episode)
        .where(Episode.patient_id == patient_id, Episode.deleted_at.is_(None))
        .order_by(Episode.started_at.desc())
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


def _place(site: dict[str, str]) -> str:
    return f"{site['site']}:{site['side']}"


def last_time(episodes: Sequence[Episode]) -> LastTime | None:
    """The newest episode's strength and places (episodes newest first)."""
    if not episodes:
        return None
    return LastTime(intensity=episodes[0].intensity, places=[_place(b) for b in episodes[0].body_sites])


def _most_common(lists: Iterable[Iterable[str]], n: int) -> list[str]:
    """The n values picked most often; between equals, the one picked most recently first (lists newest first)."""
    counts: Counter[str] = Counter()
    newest: dict[str, int] = {}
    for position, values in enumerate(lists):
        for value in dict.fromkeys(values):
            counts[value] += 1
            newest.setdefault(value, position)
    return sorted(counts, key=lambda v: (-counts[v], newest[v]))[:n]


def usual_places(episodes: Sequence[Episode], n: int = 4) -> list[str]:
    return _most_common(([_place(b) for b in e.body_sites] for e in episodes), n)


def usual(episodes: Sequence[Episode], field: str, n: int = 4) -> list[str]:
    """The codes of one list field (triggers, impacts, symptoms, context; treatments by kind) picked most often."""
    if field == "treatments":
        return _most_common(([t["kind"] for t in e.treatments] for e in episodes), n)
    return _most_common((getattr(e, field) or [] for e in episodes), n)
