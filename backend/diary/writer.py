"""Episode writes grouped into one transaction: what keeps logging fast when thousands of phones upload at once.

Every episode write (``PUT /api/v1/episodes/{id}``, the log page and the episode form) goes through its process's
writer. While one batch is being written the next requests queue; the writer then takes them all together and, in one
transaction:

1. resolves the callers' session cookies (one SELECT; an expired session is ended, an idle one touched);
2. counts the writes against each patient's limit (one upsert for the whole batch);
3. reads what is stored under the episode ids (one SELECT);
4. decides each write by the rules every diary record follows (``services.verdict``);
5. inserts the new episodes and their audit rows (one multi-row INSERT each; a replacement is its own UPDATE);
6. reads the profiles that the urgent-rule screen needs (one SELECT);

and commits once. On SQLite (``synchronous=FULL``) that is one fsync for the batch, and no answer is sent before its
commit. A problem with one request (a stale version, an id of someone else, the limit) is that request's answer and
leaves the others alone. If the batch itself fails (another process inserted the same id at the same moment, say),
every request in it is written again on its own, so that a neighbour's conflict never becomes somebody else's error.

The batch is one synchronous function. On SQLite it runs in a thread of its own with its own connection
(``db.make_sqlite_writer_engine``): the event loop hands the batch over once and goes on serving requests, instead of
being interrupted at every statement. On PostgreSQL the same function runs on the async engine (``run_sync``), where
grouping saves commits and round trips as well.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts import limits
from backend.accounts.sessions import Principal, resolve_many
from backend.care.audit import audit_values
from backend.care.models import AuditEvent
from backend.config import Settings
from backend.db import insert_many, make_sqlite_writer_engine, utcnow
from backend.diary import records
from backend.diary.models import Episode, PatientProfile
from backend.diary.schemas import EpisodeIn
from backend.diary.services import content_hash, stale, verdict
from backend.flags import services as flags
from backend.flags.models import ThresholdOverride
from backend.problems import Problem

log = logging.getLogger("spasm.writer")

MAX_BATCH = 256  # keeps every statement's parameters far below SQLite's and asyncpg's limits
EPISODES: Table = Episode.__table__  # type: ignore[assignment]
AUDITS: Table = AuditEvent.__table__  # type: ignore[assignment]
# Built once: a statement made afresh for every batch costs more to assemble and to look up than to run.
STORED = select(EPISODES).where(EPISODES.c.id.in_(bindparam("ids", expanding=True)))
INSERT_EPISODES = insert(EPISODES)
INSERT_AUDITS = insert(AUDITS)
PROFILE_AND_OVERRIDE = select(
    PatientProfile.__table__,
    select(ThresholdOverride.rule_id)
    .where(ThresholdOverride.patient_id == PatientProfile.patient_id)
    .limit(1)
    .scalar_subquery()
    .label("any_override"),
).where(PatientProfile.patient_id.in_(bindparam("patients", expanding=True)))


def signed_out() -> Problem:
    return Problem(401, "Please sign in again.", code="not-signed-in")


def patients_only() -> Problem:
    return Problem(403, "Only patients keep a diary.", code="patients-only")


@dataclass
class EpisodeWrite:
    """One request's episode. The caller is either a session cookie, resolved inside the batch (the API), or a
    principal the request has already resolved (the forms)."""

    episode_id: uuid.UUID
    data: EpisodeIn
    if_match: int | None
    address: str
    token: str | None = None
    principal: Principal | None = None
    fingerprint: str = field(init=False)
    values: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        # Computed here, in the request, so that the batch does as little as possible while it holds the database.
        self.fingerprint = content_hash(self.data)
        self.values = records.episode_values(self.data)


@dataclass
class Written:
    principal: Principal
    row: Any  # the stored episode, with the attributes of an Episode row
    created: bool
    urgent_check: bool  # the urgent-rule screen could not clear this write: run flags.urgent_check before answering
    now: dt.datetime


Outcome = Written | Problem


class EpisodeWriter:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.queue: collections.deque[tuple[EpisodeWrite, asyncio.Future[Written]]] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.thread: concurrent.futures.ThreadPoolExecutor | None = None
        self.sqlite: Engine | None = None
        if settings.is_sqlite:
            self.sqlite = make_sqlite_writer_engine(settings)
        self.batches = 0  # for the tests and the benchmark: how many transactions the writes took
        self.largest = 0
        self.last_batch = -1e9  # loop time of the latest batch

    def busy(self, within: float = 1.0) -> bool:
        """Whether episodes were written in the last ``within`` seconds (background work then yields to them)."""
        return asyncio.get_running_loop().time() - self.last_batch < within

    async def write(self, job: EpisodeWrite) -> Written:
        """Queues one write and waits for the commit of the batch it joined; raises the request's problem."""
        future: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self.queue.append((job, future))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain(), name="episode-writer")
        return await future

    async def close(self) -> None:
        """Waits until every queued write is committed, then lets go of the connection (at shutdown)."""
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        if self.thread is not None:
            self.thread.shutdown(wait=True)
            self.thread = None  # made again if the app serves again (the tests restart it)
        if self.sqlite is not None:
            self.sqlite.dispose()

    async def _drain(self) -> None:
        while self.queue:
            count = min(len(self.queue), MAX_BATCH)
            batch = [self.queue.popleft() for _ in range(count)]
            jobs = [job for job, _ in batch]
            outcomes: list[Outcome | BaseException]
            try:
                outcomes = list(await self._run(jobs))
            except Exception:
                if len(batch) > 1:
                    log.warning("a batch of %d episode writes failed; writing each alone", len(batch))
                outcomes = [await self._alone(job) for job in jobs]
            self.batches += 1
            self.largest = max(self.largest, count)
            self.last_batch = asyncio.get_running_loop().time()
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the request went away (the client closed the connection)
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _alone(self, job: EpisodeWrite) -> Outcome | BaseException:
        for attempt in range(2):
            try:
                return (await self._run([job]))[0]
            except IntegrityError as exc:
                # The same id was inserted by another request at the same moment: the second try reads what won.
                if attempt:
                    return exc
            except Exception as exc:
                log.exception("an episode write failed")
                return exc
        raise AssertionError("unreachable")

    async def _run(self, jobs: list[EpisodeWrite]) -> list[Outcome]:
        now = utcnow()
        if self.sqlite is not None:
            if self.thread is None:
                self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="episode-writer")
            outcomes, profiles = await asyncio.get_running_loop().run_in_executor(
                self.thread, self._in_thread, jobs, now
            )
        else:
            async with self.engine.begin() as conn:
                outcomes, profiles = await conn.run_sync(self._batch, jobs, now)
        # The urgent-rule screen is pure: it runs after the commit, without holding the database.
        for outcome in outcomes:
            if isinstance(outcome, Written):
                profile = profiles.get(outcome.principal.user_id)
                any_override = profile is not None and profile.any_override is not None
                outcome.urgent_check = flags.screen_row(profile, any_override, outcome.row, now)
        return outcomes

    def _in_thread(self, jobs: list[EpisodeWrite], now: dt.datetime) -> tuple[list[Outcome], dict[uuid.UUID, Any]]:
        assert self.sqlite is not None
        with self.sqlite.begin() as conn:
            return self._batch(conn, jobs, now)

    def _batch(
        self, conn: Connection, jobs: list[EpisodeWrite], now: dt.datetime
    ) -> tuple[list[Outcome], dict[uuid.UUID, Any]]:
        """The whole batch in one transaction (the caller commits). Answers each job's outcome, and the profiles of
        the patients written for, which the urgent-rule screen needs."""
        outcomes: list[Outcome | None] = [None] * len(jobs)
        callers = self._callers(conn, jobs, outcomes, now)
        allowed = self._within_limits(conn, callers, outcomes, now)
        self._apply(conn, jobs, callers, allowed, outcomes, now)
        profiles: dict[uuid.UUID, Any] = {}
        patients = {callers[i].user_id for i in allowed if isinstance(outcomes[i], Written)}
        if patients:
            result = conn.execute(PROFILE_AND_OVERRIDE, {"patients": list(patients)})
            profiles = {row.patient_id: row for row in result}
        assert all(o is not None for o in outcomes)
        return outcomes, profiles  # type: ignore[return-value]

    def _callers(
        self, conn: Connection, jobs: list[EpisodeWrite], outcomes: list[Outcome | None], now: dt.datetime
    ) -> dict[int, Principal]:
        tokens = [job.token for job in jobs if job.principal is None and job.token]
        found, _changed = resolve_many(conn, self.settings, tokens, now) if tokens else ({}, False)
        callers: dict[int, Principal] = {}
        for i, job in enumerate(jobs):
            principal = job.principal or (found.get(job.token) if job.token else None)
            if principal is None:
                outcomes[i] = signed_out()
            elif not principal.is_patient:
                outcomes[i] = patients_only()
            else:
                callers[i] = principal
        return callers

    def _within_limits(
        self, conn: Connection, callers: dict[int, Principal], outcomes: list[Outcome | None], now: dt.datetime
    ) -> list[int]:
        """Counts every write of the batch at once; each patient's writes past the limit are refused, the later ones
        first (the same count, and the same 429, as one write at a time would give)."""
        if not callers:
            return []
        keys = {i: f"write:{p.user_id}" for i, p in callers.items()}
        attempts = collections.Counter(keys.values())
        totals = limits.count(conn, attempts, limits.WRITE_WINDOW, now)
        remaining = {key: self.settings.limit_writes_per_minute - (totals[key] - n) for key, n in attempts.items()}
        allowed = []
        for i in sorted(callers):
            if remaining[keys[i]] > 0:
                allowed.append(i)
            else:
                outcomes[i] = limits.too_many(now, limits.WRITE_WINDOW)
            remaining[keys[i]] -= 1
        return allowed

    def _apply(
        self, conn: Connection, jobs: list[EpisodeWrite], callers: dict[int, Principal], allowed: list[int],
        outcomes: list[Outcome | None], now: dt.datetime,
    ) -> None:  # fmt: skip
        if not allowed:
            return
        ids = list({jobs[i].episode_id for i in allowed})
        stored = {row.id: SimpleNamespace(**row._mapping)
                  for row in conn.execute(STORED, {"ids": ids})}  # fmt: skip
        inserts: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for i in allowed:
            job, principal = jobs[i], callers[i]
            row: Any = stored.get(job.episode_id)
            try:
                action = verdict(row, patient_id=principal.user_id, fingerprint=job.fingerprint,
                                 if_match=job.if_match, what="episode")  # fmt: skip
            except Problem as problem:
                outcomes[i] = problem
                continue
            if action == "unchanged":
                outcomes[i] = Written(principal, row, row.version == 1 and job.if_match is None, False, now)
                continue
            if action == "create":
                new = {"patient_id": principal.user_id, "id": job.episode_id, **job.values, "received_at": now,
                       **records.entry_times(job.data.entered_at, now), "updated_at": now, "version": 1,
                       "content_hash": job.fingerprint, "deleted_at": None}  # fmt: skip
                inserts.append(new)
                stored[job.episode_id] = row = SimpleNamespace(**new)
                outcomes[i] = Written(principal, row, True, False, now)
            else:
                if inserts:  # an edit of an episode created earlier in this batch: that insert goes first
                    insert_many(conn, INSERT_EPISODES, EPISODES, inserts)
                    inserts = []
                changes = {**job.values, "version": row.version + 1, "content_hash": job.fingerprint,
                           "updated_at": now}  # fmt: skip
                result = conn.execute(
                    update(EPISODES)
                    .where(EPISODES.c.patient_id == principal.user_id, EPISODES.c.id == job.episode_id,
                           EPISODES.c.version == row.version)
                    .values(**changes)
                )  # fmt: skip
                if result.rowcount != 1:  # changed by another process since the read (PostgreSQL)
                    current = conn.execute(select(EPISODES).where(EPISODES.c.id == job.episode_id)).one()
                    outcomes[i] = stale(current)
                    continue
                stored[job.episode_id] = row = SimpleNamespace(**{**vars(row), **changes})
                outcomes[i] = Written(principal, row, False, False, now)
            audits.append(audit_values(principal, f"episode.{action}", patient_id=principal.user_id,
                                       entity=f"episode:{job.episode_id}", address=job.address, at=now))  # fmt: skip
        if inserts:
            insert_many(conn, INSERT_EPISODES, EPISODES, inserts)
        if audits:
            insert_many(conn, INSERT_AUDITS, AUDITS, audits)
