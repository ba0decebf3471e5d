"""Episode writes grouped into one transaction: what keeps logging fast when thousands of phones upload at once.

Every episode write (``PUT /api/v1/episodes/{id}``, the log page and the episode form) goes through its process's
writer. While one batch is being written the next requests queue; the writer then takes them all together and, in one
transaction:

1. resolves the callers' session cookies (one SELECT; an expired session is ended, an idle one touched);
2. reads each patient's write count of this minute and what is stored under the episode ids (one SELECT each);
3. decides each write, in the order they came, by the rules every diary record follows (``services.verdict``) and
   the patient's limit per minute (only a write that changes the diary counts);
4. inserts the new episodes and their audit rows (one executemany each; a replacement is its own UPDATE), and adds
   the writes to the counters (one upsert);
5. reads the profiles that the urgent-rule screen needs (one SELECT);

and commits once. On SQLite (``synchronous=FULL``) that is one fsync for the batch, and no answer is sent before its
commit. A problem with one request (a stale version, an id of someone else, the limit) is that request's answer and
leaves the others alone. If the batch fails before its commit (another process inserted the same id at the same
moment, say), every request in it is written again on its own, so that a neighbour's conflict never becomes somebody
else's error. After the commit, the urgent-rule screen decides which writes need the full urgent check before their
answer; if it cannot decide, the check runs.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.db import insert_many, make_sqlite_writer_engine, utcnow
from backend.diary import records
from backend.diary.models import CheckIn, Episode
from backend.diary.safety import Screen
from backend.diary.schemas import EpisodeIn
from backend.diary.validation import episode_on_quiet_day, local_day
from backend.diary.versions import content_hash, stale, verdict
from backend.shared import limits
from backend.shared.audit import AuditEvent, audit_values
from backend.shared.principal import Principal
from backend.shared.problems import Problem

log = logging.getLogger("spasm.writer")

MAX_BATCH = 256  # keeps every statement's parameters far below SQLite's and asyncpg's limits
EPISODES: Table = Episode.__table__  # type: ignore[assignment]
AUDITS: Table = AuditEvent.__table__  # type: ignore[assignment]
# Built once: a statement made afresh for every batch costs more to assemble and to look up than to run.
STORED = select(EPISODES).where(EPISODES.c.id.in_(bindparam("ids", expanding=True)))
CHECKINS: Table = CheckIn.__table__  # type: ignore[assignment]
# The days of the batch that a check-in says had no episodes (the pairs are filtered in Python).
QUIET_DAYS = select(CHECKINS.c.patient_id, CHECKINS.c.day).where(
    CHECKINS.c.no_episodes.is_(True),
    CHECKINS.c.patient_id.in_(bindparam("patients", expanding=True)),
    CHECKINS.c.day.in_(bindparam("days", expanding=True)),
)
INSERT_EPISODES = insert(EPISODES)
INSERT_AUDITS = insert(AUDITS)


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
    profile: Any = None  # the patient's profile, for the screen


Outcome = Written | Problem
# The principals behind session cookies, and whether a session was ended or touched (the batch commits it).
Resolver = Callable[[Connection, Settings, list[str], dt.datetime], tuple[dict[str, Principal], bool]]


class EpisodeWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        resolve: Resolver,
        screen: Screen,
        orphaned: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        """``resolve`` finds the principals behind the batch's session cookies (accounts.sessions.resolve_many),
        ``screen`` tells which writes need the urgent check before their answer (flags.safety.WriteScreen)."""
        self.engine = engine
        self.settings = settings
        self.resolve = resolve
        self.screen = screen
        # Told of a patient whose write was committed after its request went away, so that the rules still run.
        self.orphaned = orphaned
        self.queue: collections.deque[tuple[EpisodeWrite, asyncio.Future[Written]]] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.thread: concurrent.futures.ThreadPoolExecutor | None = None
        self.sqlite: Engine | None = None
        if settings.is_sqlite and settings.database_url.split(":///", 1)[-1] not in {"", ":memory:"}:
            self.sqlite = make_sqlite_writer_engine(settings)  # (an in-memory database has no second connection)
        self.batches = 0  # for the tests and the benchmark: how many transactions the writes took
        self.largest = 0
        # (when, writes) of recent batches; busy() reads the last second, which a full deque would already answer
        self.recent: collections.deque[tuple[float, int]] = collections.deque(maxlen=1024)

    def busy(self, within: float = 1.0, writes: int = 20) -> bool:
        """Whether at least ``writes`` episodes were written in the last ``within`` seconds: a stream of uploads, to
        which background work then yields (a trickle of single writes does not count)."""
        since = asyncio.get_running_loop().time() - within
        while self.recent and self.recent[0][0] < since:
            self.recent.popleft()
        return sum(count for _, count in self.recent) >= writes

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
        loop = asyncio.get_running_loop()
        while self.queue:
            count = min(len(self.queue), MAX_BATCH)
            batch = [self.queue.popleft() for _ in range(count)]
            jobs = [job for job, _ in batch]
            outcomes: list[Outcome | BaseException]
            try:
                outcomes = list(await self._commit(jobs))
            except Exception:
                # Nothing of this batch was committed: each job is written again on its own, so that whatever
                # failed (another process inserting the same id, say) is only that job's answer.
                if len(batch) > 1:
                    log.warning("a batch of %d episode writes failed; writing each alone", len(batch))
                outcomes = [await self._alone(job) for job in jobs]
            self.batches += 1
            self.largest = max(self.largest, count)
            self.recent.append((loop.time(), count))
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Written):
                    self._screen(outcome)
                if future.done():  # the request went away (the client closed the connection)
                    if isinstance(outcome, Written) and self.orphaned is not None:
                        self.orphaned(outcome.principal.user_id)
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _alone(self, job: EpisodeWrite) -> Outcome | BaseException:
        for attempt in range(2):
            try:
                return (await self._commit([job]))[0]
            except IntegrityError:
                # The same id was inserted by another request at the same moment: the second try reads what won.
                if attempt:
                    return Problem(409, "This episode is being saved by another request. Try again.", code="write-race")
            except Exception as exc:
                log.exception("an episode write failed")
                return exc
        raise AssertionError("unreachable")

    def _screen(self, outcome: Written) -> None:
        """The urgent-rule screen, after the commit and without the database. It fails safe: if it cannot decide,
        the full urgent check runs."""
        try:
            outcome.urgent_check = self.screen.needs_check(outcome.profile, outcome.row, outcome.now)
        except Exception:
            log.exception("the urgent-rule screen failed; the full check runs instead")
            outcome.urgent_check = True

    async def _commit(self, jobs: list[EpisodeWrite]) -> list[Outcome]:
        """Writes the batch in one transaction and commits it; raises only if nothing was committed."""
        now = utcnow()
        if self.sqlite is not None:
            if self.thread is None:
                self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="episode-writer")
            return await asyncio.get_running_loop().run_in_executor(self.thread, self._in_thread, jobs, now)
        async with self.engine.begin() as conn:
            return await conn.run_sync(self._batch, jobs, now)

    def _in_thread(self, jobs: list[EpisodeWrite], now: dt.datetime) -> list[Outcome]:
        assert self.sqlite is not None
        with self.sqlite.begin() as conn:
            return self._batch(conn, jobs, now)

    def _batch(self, conn: Connection, jobs: list[EpisodeWrite], now: dt.datetime) -> list[Outcome]:
        """The whole batch in one transaction (the caller commits): each job's outcome, in the order they came."""
        outcomes: list[Outcome | None] = [None] * len(jobs)
        callers = self._callers(conn, jobs, outcomes, now)
        written = self._apply(conn, jobs, callers, outcomes, now)
        if written:
            result = conn.execute(self.screen.statement, {"patients": list(written)})
            profiles = {row.patient_id: row for row in result}
            for outcome in outcomes:
                if isinstance(outcome, Written):
                    outcome.profile = profiles.get(outcome.principal.user_id)
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _callers(
        self, conn: Connection, jobs: list[EpisodeWrite], outcomes: list[Outcome | None], now: dt.datetime
    ) -> dict[int, Principal]:
        tokens = [job.token for job in jobs if job.principal is None and job.token]
        found, _changed = self.resolve(conn, self.settings, tokens, now) if tokens else ({}, False)
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

    def _apply(
        self,
        conn: Connection,
        jobs: list[EpisodeWrite],
        callers: dict[int, Principal],
        outcomes: list[Outcome | None],
        now: dt.datetime,
    ) -> set[uuid.UUID]:
        """Decides and writes each job in queue order, as one write at a time would: a refused write or a replay
        is answered without counting; a write that changes the diary counts against its patient's limit per minute,
        and past the limit is refused with 429. Answers the patients whose episodes were written or replayed."""
        if not callers:
            return set()
        keys = {pid: f"write:{pid}" for pid in {p.user_id for p in callers.values()}}
        used = limits.current(conn, list(keys.values()), limits.WRITE_WINDOW, now)
        left = {pid: self.settings.limit_writes_per_minute - used.get(key, 0) for pid, key in keys.items()}
        ids = list({jobs[i].episode_id for i in callers})
        stored = {row.id: SimpleNamespace(**row._mapping) for row in conn.execute(STORED, {"ids": ids})}
        days = {jobs[i].data.started_at.date() for i in callers}  # the local day, in the offset the phone sent
        quiet_days = {
            (r.patient_id, r.day) for r in conn.execute(QUIET_DAYS, {"patients": list(keys), "days": list(days)})
        }
        inserts: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        counted: collections.Counter[str] = collections.Counter()
        patients: set[uuid.UUID] = set()
        for i in sorted(callers):
            job, principal = jobs[i], callers[i]
            row: Any = stored.get(job.episode_id)
            try:
                action = verdict(
                    row,
                    patient_id=principal.user_id,
                    fingerprint=job.fingerprint,
                    if_match=job.if_match,
                    what="episode",
                )
            except Problem as problem:
                outcomes[i] = problem
                continue
            if action == "unchanged":
                outcomes[i] = Written(principal, row, row.version == 1 and job.if_match is None, False, now)
                patients.add(principal.user_id)
                continue
            day = job.data.started_at.date()
            moved = action == "create" or local_day(row.started_at, row.start_offset) != day
            if moved and (principal.user_id, day) in quiet_days:
                outcomes[i] = episode_on_quiet_day(day)  # "no episodes today" says otherwise: nothing is saved
                continue
            if left[principal.user_id] <= 0:
                outcomes[i] = limits.too_many(now, limits.WRITE_WINDOW, self.settings.limit_writes_per_minute)
                continue
            left[principal.user_id] -= 1
            counted[keys[principal.user_id]] += 1
            patients.add(principal.user_id)
            if action == "create":
                new = {
                    "patient_id": principal.user_id,
                    "id": job.episode_id,
                    **job.values,
                    "received_at": now,
                    **records.entry_times(job.data.entered_at, now),
                    "updated_at": now,
                    "version": 1,
                    "content_hash": job.fingerprint,
                    "deleted_at": None,
                }
                inserts.append(new)
                stored[job.episode_id] = row = SimpleNamespace(**new)
                outcomes[i] = Written(principal, row, True, False, now)
            else:
                if inserts:  # an edit of an episode created earlier in this batch: that insert goes first
                    insert_many(conn, INSERT_EPISODES, EPISODES, inserts)
                    inserts = []
                changes = {**job.values, "version": row.version + 1, "content_hash": job.fingerprint, "updated_at": now}
                result = conn.execute(
                    update(EPISODES)
                    .where(
                        EPISODES.c.patient_id == principal.user_id,
                        EPISODES.c.id == job.episode_id,
                        EPISODES.c.version == row.version,
                    )
                    .values(**changes)
                )
                if result.rowcount != 1:  # changed by another process since the read (PostgreSQL)
                    current = conn.execute(select(EPISODES).where(EPISODES.c.id == job.episode_id)).one()
                    outcomes[i] = stale(current)
                    counted[keys[principal.user_id]] -= 1
                    continue
                stored[job.episode_id] = row = SimpleNamespace(**{**vars(row), **changes})
                outcomes[i] = Written(principal, row, False, False, now)
            audits.append(
                audit_values(
                    principal,
                    f"episode.{action}",
                    patient_id=principal.user_id,
                    entity=f"episode:{job.episode_id}",
                    address=job.address,
                    at=now,
                )
            )
        if inserts:
            insert_many(conn, INSERT_EPISODES, EPISODES, inserts)
        if audits:
            insert_many(conn, INSERT_AUDITS, AUDITS, audits)
        if +counted:
            limits.add(conn, +counted, limits.WRITE_WINDOW, now)
        return patients
