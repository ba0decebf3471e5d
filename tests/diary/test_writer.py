"""The grouped episode writer (backend/diary/writer.py), through the real API on the real database.

Covers: concurrent PUTs grouped into fewer transactions than requests; each request of a batch keeping its own answer
(creates, replays, versions, other patients' ids, signed-out callers, clinicians, the write limit) and the audit trail
holding only what was written; a failed batch written again one job at a time; two processes writing the same ids at
once; a property against a sequential model of the versioning rules; and the order of answers (401, then 403, then
the body's own problems) for a caller whose session the writer resolves.

Most tests hold the writer's first batch (a bystander's write, the "plug") until every request under test has queued,
so that those requests are written as one batch, and read the queue to learn the order the writer takes them in.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import select

from backend.app import create_app
from backend.diary.models import Episode
from backend.diary.writer import EpisodeWrite, EpisodeWriter
from backend.shared.audit import AuditEvent
from backend.shared.principal import ANON_CSRF_COOKIE, session_cookie_name
from tests.conftest import Api, make_settings
from tests.support.pages import hidden, page, submit

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
TIMEOUT = 30  # seconds; a writer that never answers fails the test instead of hanging the run
# One start time for the whole module: two bodies with the same intensity are then the same content (a replay).
START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)

Send = Callable[[], Coroutine[Any, Any, httpx.Response]]


def url(episode_id: uuid.UUID) -> str:
    return f"/api/v1/episodes/{episode_id}"


def body(intensity: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "spasm",
        "started_at": START.isoformat(),
        "intensity": intensity,
        "body_sites": [{"site": "calf", "side": "left"}],
        **extra,
    }


def put(api: Api, episode_id: uuid.UUID, intensity: int, if_match: int | None = None, **extra: Any) -> Send:
    headers = {} if if_match is None else {"If-Match": f'"{if_match}"'}
    return lambda: api.put(url(episode_id), json=body(intensity, **extra), headers=headers)


def user_id(api: Api) -> uuid.UUID:
    assert api.user is not None
    return uuid.UUID(api.user["id"])


def token_of(app: Litestar, api: Api) -> str:
    token = api.client.cookies.get(session_cookie_name(app.state.settings))
    assert token
    return token


# ---- holding a batch -------------------------------------------------------------------------------------------------


@dataclass
class Batch:
    responses: list[httpx.Response]  # in the order of the sends
    jobs: list[EpisodeWrite]  # the jobs that reached the writer, in the order it took them
    batches: int  # transactions the writer counted for the plug and these requests
    alone: int  # batches that failed and were written again one job at a time

    def position(self, episode_id: uuid.UUID, intensity: int | None = None) -> int:
        found = [
            i
            for i, job in enumerate(self.jobs)
            if job.episode_id == episode_id and intensity in (None, job.data.intensity)
        ]
        assert len(found) == 1, (episode_id, intensity, found)
        return found[0]


class Fallbacks(logging.Handler):
    """Counts the writer's warnings that a batch failed and its jobs are being written one at a time."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "writing each alone" in record.getMessage()


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.002)

    await asyncio.wait_for(poll(), TIMEOUT)


async def one_batch(app: Litestar, plug: Api, sends: Sequence[Send], *, in_order: bool = False) -> Batch:
    """Sends every request while the writer is held in a bystander's write, so that all of them queue and the writer
    takes them as one batch. With ``in_order`` each request is sent once the previous one has queued."""
    writer: EpisodeWriter = app.state.writer
    assert not writer.queue and (writer.task is None or writer.task.done()), "the writer is busy before the test"
    holding, release = asyncio.Event(), asyncio.Event()
    run = writer._commit

    async def held(jobs: list[EpisodeWrite]) -> Any:
        vars(writer).pop("_commit", None)  # only this first batch is held
        holding.set()
        await release.wait()
        return await run(jobs)

    tasks: list[asyncio.Task[httpx.Response]] = []

    def arrived() -> bool:  # every request is queued, or was answered before reaching the writer
        return len(writer.queue) + sum(t.done() for t in tasks) == len(tasks)

    before = writer.batches
    vars(writer)["_commit"] = held
    fallbacks = Fallbacks()
    logging.getLogger("spasm.writer").addHandler(fallbacks)
    plugged = asyncio.create_task(plug.put(url(uuid.uuid4()), json=body(0)))
    try:
        await asyncio.wait_for(holding.wait(), TIMEOUT)
        for send in sends:
            tasks.append(asyncio.create_task(send()))
            if in_order:
                await until(arrived)
        await until(arrived)
        jobs = [job for job, _ in writer.queue]
    finally:
        release.set()
        vars(writer).pop("_commit", None)
    try:
        responses = await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
        assert (await plugged).status_code == 201
    finally:
        logging.getLogger("spasm.writer").removeHandler(fallbacks)
    return Batch(list(responses), jobs, writer.batches - before, fallbacks.count)


# ---- reading the database --------------------------------------------------------------------------------------------


async def stored(app: Litestar, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Episode]:
    async with app.state.sessionmaker() as db:
        rows = list((await db.execute(select(Episode).where(Episode.id.in_(list(ids))))).scalars())
    assert len(rows) == len({row.id for row in rows})
    return {row.id: row for row in rows}


async def audit_trail(app: Litestar, ids: Sequence[uuid.UUID]) -> collections.Counter[tuple[uuid.UUID, str]]:
    """How many audit rows of each action there are for each episode."""
    entities = {f"episode:{episode_id}": episode_id for episode_id in ids}
    async with app.state.sessionmaker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.entity.in_(list(entities))))).scalars()
        return collections.Counter((entities[row.entity], row.action) for row in rows if row.entity)


# ---- fixtures --------------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def bystander(browser: Any) -> Api:
    """A patient whose writes hold the writer while the requests under test queue."""
    api: Api = await browser()
    await api.register("patient")
    return api


async def close(app: Litestar) -> None:
    await app.state.writer.close()
    await app.state.engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def strict_app(database_url: str) -> AsyncIterator[Litestar]:
    """The service with a write limit of 3 a minute per patient, on the same database."""
    app = create_app(make_settings(database_url, limit_writes_per_minute=3))
    yield app
    await close(app)


@pytest_asyncio.fixture(loop_scope="session")
async def strict_people(strict_app: Litestar) -> AsyncIterator[Callable[[str], Awaitable[Api]]]:
    """A factory of signed-in browsers on ``strict_app``."""
    made: list[Api] = []

    async def make(role: str) -> Api:
        made.append(await person_on(strict_app, role))
        return made[-1]

    yield make
    for api in made:
        await api.client.aclose()


async def person_on(app: Litestar, role: str = "patient") -> Api:
    api = Api(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"))
    await api.register(role)
    return api


async def registered(browser: Any, role: str = "patient") -> Api:
    api: Api = await browser()
    await api.register(role)
    return api


async def end_session_keeping_cookie(app: Litestar, api: Api) -> Api:
    """Signs out, then puts the ended session's cookie back: a phone that still sends it (and its CSRF token)."""
    token = token_of(app, api)
    assert (await api.post("/api/v1/auth/sign-out")).status_code == 204
    api.client.cookies.clear()
    api.client.cookies.set(session_cookie_name(app.state.settings), token)
    return api


# ---- many requests, few transactions ---------------------------------------------------------------------------------


async def test_concurrent_puts_are_each_stored_once_in_fewer_transactions(app: Litestar, browser: Any) -> None:
    writer: EpisodeWriter = app.state.writer
    patients: list[Api] = [await browser() for _ in range(4)]
    for api in patients:
        await api.register("patient")
    writes = [(patients[i % 4], uuid.uuid4(), i % 11, f"note {i}") for i in range(40)]
    before = writer.batches
    writer.largest = 0  # a high-water mark: measured from here

    responses = await asyncio.wait_for(
        asyncio.gather(*(api.put(url(eid), json=body(n, note=note)) for api, eid, n, note in writes)), TIMEOUT
    )

    for (_, episode_id, intensity, note), response in zip(writes, responses, strict=True):
        assert response.status_code == 201, response.text
        got = response.json()
        assert (got["id"], got["intensity"], got["note"], got["version"]) == (str(episode_id), intensity, note, 1)
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == url(episode_id)
    assert writer.batches - before < len(writes)
    assert writer.largest > 1
    rows = await stored(app, [eid for _, eid, _, _ in writes])
    assert {eid: (row.patient_id, row.version, row.note) for eid, row in rows.items()} == {
        eid: (user_id(api), 1, note) for api, eid, _, note in writes
    }
    trail = await audit_trail(app, [eid for _, eid, _, _ in writes])
    assert trail == collections.Counter({(eid, "episode.create"): 1 for _, eid, _, _ in writes})
    # The answer built in the batch is what a later read of the stored row gives.
    for (api, episode_id, _, _), response in zip(writes, responses, strict=True):
        assert (await api.get(url(episode_id))).json() == response.json()


# ---- one batch, many answers -----------------------------------------------------------------------------------------


async def test_each_request_of_a_batch_gets_its_own_answer(
    strict_app: Litestar, strict_people: Callable[[str], Awaitable[Api]]
) -> None:
    """Limit 3 writes a minute: every patient but the busy one stays within it, whatever minute the setup ran in."""
    alice, bob, carol, busy, plug = [await strict_people("patient") for _ in range(5)]
    clinician = await strict_people("clinician")
    gone = await end_session_keeping_cookie(strict_app, await strict_people("patient"))
    kept, edited = uuid.uuid4(), uuid.uuid4()
    assert (await put(alice, kept, 5)()).status_code == 201
    assert (await put(bob, edited, 5)()).status_code == 201
    assert (await put(bob, edited, 6, if_match=1)()).status_code == 200
    new, by_gone, by_clinician = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    busy_ids = [uuid.uuid4() for _ in range(5)]

    batch = await one_batch(
        strict_app,
        plug,
        [
            put(alice, new, 7),  # a good create
            put(alice, kept, 5),  # a replay of a stored create
            put(bob, edited, 8, if_match=1),  # based on version 1, but version 2 is stored
            put(carol, kept, 5),  # alice's id
            put(gone, by_gone, 5),  # a session that has ended
            put(clinician, by_clinician, 5),
            *(put(busy, eid, 5) for eid in busy_ids),  # 5 writes, limit 3
        ],
    )

    assert (batch.batches, batch.alone) == (2, 0), "the plug, then everything else in one transaction"
    assert len(batch.jobs) == 11
    created, replay, stale, taken, gone_answer, clinician_answer, *busy_answers = batch.responses
    assert (created.status_code, created.json()["version"], created.json()["intensity"]) == (201, 1, 7)
    assert (replay.status_code, replay.json()["version"], replay.json()["intensity"]) == (201, 1, 5)
    assert stale.status_code == 412 and stale.json()["current_version"] == 2 and stale.headers["etag"] == '"2"'
    assert taken.status_code == 409 and taken.json()["code"] == "id-taken"
    assert gone_answer.status_code == 401 and gone_answer.json()["code"] == "not-signed-in"
    assert clinician_answer.status_code == 403 and clinician_answer.json()["code"] == "patients-only"
    # The busy patient's first three writes, in the order the writer took them, are stored; the rest wait.
    order = sorted(range(5), key=lambda i: batch.position(busy_ids[i]))
    assert [busy_answers[i].status_code for i in order] == [201, 201, 201, 429, 429]
    for i in order[3:]:
        assert busy_answers[i].json()["code"] == "too-many-requests"
        assert 0 < int(busy_answers[i].headers["retry-after"]) <= 60

    written = [busy_ids[i] for i in order[:3]]
    everything = [new, kept, edited, by_gone, by_clinician, *busy_ids]
    rows = await stored(strict_app, everything)
    assert {eid: (row.patient_id, row.version, row.intensity) for eid, row in rows.items()} == {
        new: (user_id(alice), 1, 7),
        kept: (user_id(alice), 1, 5),
        edited: (user_id(bob), 2, 6),
        **{eid: (user_id(busy), 1, 5) for eid in written},
    }
    assert await audit_trail(strict_app, everything) == collections.Counter(
        {
            (new, "episode.create"): 1,
            (kept, "episode.create"): 1,
            (edited, "episode.create"): 1,
            (edited, "episode.update"): 1,
            **{(eid, "episode.create"): 1 for eid in written},
        }
    )


async def test_same_new_id_twice_in_a_batch_and_an_edit_of_a_create(
    app: Litestar, patient: Api, bystander: Api
) -> None:
    twice, edited = uuid.uuid4(), uuid.uuid4()
    batch = await one_batch(
        app,
        bystander,
        [
            put(patient, twice, 4),
            put(patient, twice, 9),  # different content, no If-Match: the first one is stored by now
            put(patient, edited, 4),
            put(patient, edited, 9, if_match=1),  # an edit of the create just before it
        ],
        in_order=True,
    )

    assert [(job.episode_id, job.data.intensity) for job in batch.jobs] == [
        (twice, 4),
        (twice, 9),
        (edited, 4),
        (edited, 9),
    ]
    assert (batch.batches, batch.alone) == (2, 0)
    first, second, create, edit = batch.responses
    assert first.status_code == 201 and first.json()["intensity"] == 4
    assert second.status_code == 428 and second.json()["current_version"] == 1
    assert create.status_code == 201 and create.json()["version"] == 1
    assert edit.status_code == 200, edit.text
    assert (edit.json()["version"], edit.json()["intensity"], edit.headers["etag"]) == (2, 9, '"2"')
    rows = await stored(app, [twice, edited])
    assert {eid: (row.version, row.intensity) for eid, row in rows.items()} == {twice: (1, 4), edited: (2, 9)}
    assert await audit_trail(app, [twice, edited]) == collections.Counter(
        {(twice, "episode.create"): 1, (edited, "episode.create"): 1, (edited, "episode.update"): 1}
    )
    assert (await patient.get(url(edited))).json() == edit.json()


async def test_the_first_of_two_concurrent_creates_of_an_id_wins(app: Litestar, patient: Api, bystander: Api) -> None:
    contested = uuid.uuid4()
    batch = await one_batch(app, bystander, [put(patient, contested, 2), put(patient, contested, 3)])
    assert (batch.batches, batch.alone) == (2, 0)
    first = batch.jobs[0].data.intensity
    by_intensity = dict(zip((2, 3), batch.responses, strict=True))
    assert by_intensity[first].status_code == 201
    assert by_intensity[5 - first].status_code == 428
    assert by_intensity[5 - first].json()["current_version"] == 1
    assert (await stored(app, [contested]))[contested].intensity == first


async def test_a_form_write_and_an_api_write_share_a_batch(app: Litestar, patient: Api, bystander: Api) -> None:
    form_page = await page(patient, "/log")
    from_form = uuid.UUID(hidden(form_page.text, "id", "/log"))
    from_api = uuid.uuid4()
    fields = {"id": str(from_form), "kind": "spasm", "ago": "10", "intensity": "6", "where": "calf:left"}

    batch = await one_batch(app, bystander, [lambda: submit(patient, "/log", fields), put(patient, from_api, 3)])

    posted, api_answer = batch.responses
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/episodes/{from_form}?saved=1"
    assert api_answer.status_code == 201
    assert (batch.batches, batch.alone) == (2, 0)
    form_job = batch.jobs[batch.position(from_form)]
    assert form_job.principal is not None and form_job.token is None  # the form resolved its caller itself
    rows = await stored(app, [from_form, from_api])
    assert {eid: (row.patient_id, row.intensity) for eid, row in rows.items()} == {
        from_form: (user_id(patient), 6),
        from_api: (user_id(patient), 3),
    }


# ---- when a batch fails ----------------------------------------------------------------------------------------------


async def test_a_failed_batch_is_written_again_one_job_at_a_time(
    app: Litestar, browser: Any, patient: Api, other_patient: Api, bystander: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer: EpisodeWriter = app.state.writer
    gone = await end_session_keeping_cookie(app, await registered(browser))
    kept, edited, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert (await put(patient, kept, 5)()).status_code == 201
    assert (await put(patient, edited, 5)()).status_code == 201
    failed: list[int] = []
    batch_of = writer._batch

    def failing(conn: Any, jobs: list[EpisodeWrite], now: dt.datetime) -> Any:
        answer = batch_of(conn, jobs, now)  # everything is written, then the transaction fails before its commit
        if len(jobs) > 1 and not failed:
            failed.append(len(jobs))
            raise RuntimeError("the batch fails")
        return answer

    monkeypatch.setattr(writer, "_batch", failing)
    batch = await one_batch(
        app,
        bystander,
        [
            put(patient, new, 7),
            put(patient, kept, 5),  # replay
            put(patient, kept, 6),  # different content without If-Match
            put(patient, edited, 6, if_match=1),
            put(patient, edited, 7, if_match=1),  # stale once the edit before it is written
            put(other_patient, kept, 5),
            put(gone, uuid.uuid4(), 5),
        ],
        in_order=True,
    )

    assert failed == [7], "the batch of seven failed once"
    assert (batch.batches, batch.alone) == (2, 1)
    statuses = [(r.status_code, r.json().get("version")) for r in batch.responses]
    assert statuses == [(201, 1), (201, 1), (428, None), (200, 2), (412, None), (409, None), (401, None)]
    rows = await stored(app, [new, kept, edited])
    assert {eid: (row.version, row.intensity) for eid, row in rows.items()} == {
        new: (1, 7),
        kept: (1, 5),
        edited: (2, 6),
    }
    assert await audit_trail(app, [new, kept, edited]) == collections.Counter(
        {
            (new, "episode.create"): 1,
            (kept, "episode.create"): 1,
            (edited, "episode.create"): 1,
            (edited, "episode.update"): 1,
        }
    )


async def test_two_processes_writing_the_same_ids_store_each_once(
    app: Litestar, database_url: str, patient: Api
) -> None:
    """Each id is wanted by a patient of each process: one of them gets it, the other 409, and nobody an error."""
    second = create_app(make_settings(database_url))
    rival = await person_on(second)
    try:
        ids = [uuid.uuid4() for _ in range(24)]
        sends: list[Send] = []
        for i, episode_id in enumerate(ids):
            both = [put(patient, episode_id, 4, note="mine"), put(rival, episode_id, 4, note="theirs")]
            sends += both if i % 2 else both[::-1]
        responses = await asyncio.wait_for(asyncio.gather(*(send() for send in sends)), TIMEOUT)
        rows = await stored(app, ids)
        for i, episode_id in enumerate(ids):
            pair = responses[2 * i : 2 * i + 2]
            assert sorted(r.status_code for r in pair) == [201, 409], [r.text for r in pair]
            won = next(r for r in pair if r.status_code == 201)
            lost = next(r for r in pair if r.status_code == 409)
            assert "mine" not in lost.text and "theirs" not in lost.text
            assert rows[episode_id].note == won.json()["note"]
            assert rows[episode_id].patient_id == (user_id(patient) if won.json()["note"] == "mine" else user_id(rival))
        assert set(rows) == set(ids)
    finally:
        await rival.client.aclose()
        await close(second)


# ---- a property against a sequential model ---------------------------------------------------------------------------


@dataclass
class Modelled:
    owner: int
    version: int
    intensity: int


def expected(state: dict[int, Modelled], who: int, key: int, intensity: int, if_match: int | None) -> tuple[int, int]:
    """The answer (status, version or 0) the rules of services.py give one write, applied to ``state``."""
    row = state.get(key)
    if row is None:
        if if_match is not None:
            return 404, 0
        state[key] = Modelled(who, 1, intensity)
        return 201, 1
    if row.owner != who:
        return (409 if if_match is None else 404), 0
    if row.intensity == intensity:  # a replay: a create's replay answers like the create
        return (201 if row.version == 1 and if_match is None else 200), row.version
    if if_match is None:
        return 428, 0
    if if_match != row.version:
        return 412, 0
    row.version += 1
    row.intensity = intensity
    return 200, row.version


Op = tuple[int, int, int, int | None]  # who (0 or 1), which of three ids, content (intensity), If-Match
ops = st.tuples(st.integers(0, 1), st.integers(0, 2), st.integers(1, 3), st.sampled_from([None, None, 1, 2, 3]))


@given(groups=st.lists(st.lists(ops, min_size=1, max_size=6), min_size=1, max_size=4))
@PROPERTY
async def test_concurrent_groups_match_a_sequential_model(
    app: Litestar, patient: Api, other_patient: Api, bystander: Api, groups: list[list[Op]]
) -> None:
    people, ids = [patient, other_patient], [uuid.uuid4() for _ in range(3)]
    who_by_token = {token_of(app, api): who for who, api in enumerate(people)}
    people_by_id = {user_id(api): who for who, api in enumerate(people)}
    state: dict[int, Modelled] = {}
    for group in groups:
        batch = await one_batch(app, bystander, [put(people[w], ids[k], n, m) for w, k, n, m in group])
        assert (len(batch.jobs), batch.batches, batch.alone) == (len(group), 2, 0)
        # The model takes the group in the writer's order; identical requests are told apart only by their answers.
        wanted: collections.Counter[tuple[Op, tuple[int, int]]] = collections.Counter()
        for job in batch.jobs:
            assert job.token is not None
            op = (who_by_token[job.token], ids.index(job.episode_id), job.data.intensity, job.if_match)
            wanted[op, expected(state, *op)] += 1
        got: collections.Counter[tuple[Op, tuple[int, int]]] = collections.Counter()
        for op, response in zip(group, batch.responses, strict=True):
            ok = response.status_code in (200, 201)
            if ok:
                assert response.json()["intensity"] == op[2]
                assert response.headers["etag"] == f'"{response.json()["version"]}"'
            got[op, (response.status_code, response.json()["version"] if ok else 0)] += 1
        assert got == wanted
    rows = await stored(app, ids)
    final = {ids.index(eid): (people_by_id[row.patient_id], row.version, row.intensity) for eid, row in rows.items()}
    assert final == {key: (row.owner, row.version, row.intensity) for key, row in state.items()}


# ---- who is asking comes first ---------------------------------------------------------------------------------------


def spoiled(api: Api) -> dict[str, Send]:
    """Requests with something wrong besides the caller, by the answer a signed-in patient gets (PATIENT_ANSWERS)."""
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    json_type = {"content-type": "application/json"}
    return {
        "not JSON": lambda: api.put(url(uuid.uuid4()), content=b"{not json", headers=json_type),
        "wrong type": lambda: api.put(url(uuid.uuid4()), json=body(5) | {"intensity": "5"}),
        "no body": lambda: api.put(url(uuid.uuid4()), headers=json_type),
        "future start": lambda: api.put(url(uuid.uuid4()), json=body(5, started_at=future)),
        "bad If-Match": lambda: api.put(url(uuid.uuid4()), json=body(5), headers={"If-Match": "yesterday"}),
        "as text": lambda: api.put(url(uuid.uuid4()), content=b"kind=cramp", headers={"content-type": "text/plain"}),
        "no CSRF": lambda: api.put(url(uuid.uuid4()), json=body(5), headers={"x-csrf-token": ""}),
    }


PATIENT_ANSWERS = {
    "not JSON": (400, "invalid-json"),
    "wrong type": (400, "invalid-request"),
    "no body": (400, "invalid-request"),
    "future start": (422, "invalid-data"),
    "bad If-Match": (400, "bad-if-match"),
    "as text": (415, "unsupported-media-type"),
    "no CSRF": (403, "csrf-failed"),
}
SIGNED_OUT = ["no cookie", "made-up cookie", "anonymous cookie as session", "ended session"]


async def answers(api: Api) -> dict[str, tuple[int, str]]:
    found = {}
    for name, send in spoiled(api).items():
        response = await send()
        assert response.headers["content-type"].startswith("application/problem+json"), (name, response.text)
        found[name] = (response.status_code, response.json()["code"])
    return found


async def caller(kind: str, app: Litestar, browser: Any) -> Api:
    if kind in ("patient", "clinician"):
        return await registered(browser, kind)
    if kind == "ended session":
        return await end_session_keeping_cookie(app, await registered(browser))
    stranger: Api = await browser()
    await stranger.refresh_csrf()
    cookie = session_cookie_name(app.state.settings)
    if kind == "made-up cookie":
        stranger.client.cookies.set(cookie, "not-a-session")
    elif kind == "anonymous cookie as session":
        # With the CSRF token the site gave for that cookie, the CSRF check passes: only the session look-up refuses.
        anonymous = stranger.client.cookies.get(ANON_CSRF_COOKIE)
        assert anonymous
        stranger.client.cookies.set(cookie, anonymous)
    return stranger


async def test_a_signed_in_patient_hears_what_is_wrong_with_the_request(app: Litestar, browser: Any) -> None:
    assert await answers(await caller("patient", app, browser)) == PATIENT_ANSWERS


@pytest.mark.parametrize("kind", SIGNED_OUT)
async def test_a_signed_out_caller_hears_401_whatever_the_body(app: Litestar, browser: Any, kind: str) -> None:
    assert await answers(await caller(kind, app, browser)) == dict.fromkeys(PATIENT_ANSWERS, (401, "not-signed-in"))


async def test_a_clinician_hears_403_whatever_the_body(app: Litestar, browser: Any) -> None:
    assert await answers(await caller("clinician", app, browser)) == dict.fromkeys(
        PATIENT_ANSWERS, (403, "patients-only")
    )


@pytest.mark.parametrize(
    ("kind", "status"), [("patient", 413), *((kind, 401) for kind in SIGNED_OUT), ("clinician", 403)]
)
async def test_a_body_too_big_is_answered_after_the_caller(app: Litestar, browser: Any, kind: str, status: int) -> None:
    """Like every other problem with the body, its size is nobody's business but a signed-in patient's."""
    api = await caller(kind, app, browser)
    response = await api.put(url(uuid.uuid4()), json=body(5, note="x" * 300_000))
    assert response.status_code == status, response.text


async def test_refused_writes_and_replays_do_not_use_up_the_write_limit(
    strict_people: Callable[[str], Awaitable[Api]],
) -> None:
    """Only a write that changes the diary counts: with a limit of 3, a create, two refused edits (428) and a replay
    leave room for two more creates; the third is refused."""
    patient = await strict_people("patient")
    first = uuid.uuid4()
    assert (await put(patient, first, 5)()).status_code == 201
    assert (await put(patient, first, 6)()).status_code == 428  # different content without If-Match
    assert (await put(patient, first, 7)()).status_code == 428
    assert (await put(patient, first, 5)()).status_code == 201  # the replay of the create
    answers = [(await put(patient, uuid.uuid4(), 5)()).status_code for _ in range(3)]
    assert answers == [201, 201, 429]


async def test_a_screen_that_fails_after_the_commit_neither_writes_again_nor_hides_the_urgent_check(
    app: Litestar, patient: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit is the end of a batch: whatever fails afterwards must not send its writes round again (which would
    count and audit them twice, and answer a saved edit with "nothing was saved"), and the urgent check then runs."""
    from backend.flags import safety as module

    episode_id = uuid.uuid4()
    assert (await put(patient, episode_id, 5)()).status_code == 201
    checked: list[uuid.UUID] = []
    from backend.flags import services as flags

    real_check = flags.urgent_check

    async def urgent_check(db: Any, patient_id: uuid.UUID, now: dt.datetime, **kw: Any) -> Any:
        checked.append(patient_id)
        return await real_check(db, patient_id, now, **kw)

    def broken(*args: Any) -> bool:
        raise RuntimeError("the screen fails")

    monkeypatch.setattr(module, "screen_row", broken)
    monkeypatch.setattr("backend.flags.safety.services.urgent_check", urgent_check)
    edited = await put(patient, episode_id, 6, if_match=1)()
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert checked == [user_id(patient)]  # the full check ran in the screen's place
    async with app.state.sessionmaker() as db:
        actions = (
            (await db.execute(select(AuditEvent.action).where(AuditEvent.entity == f"episode:{episode_id}")))
            .scalars()
            .all()
        )
    assert sorted(actions) == ["episode.create", "episode.update"]  # once each: nothing was written twice
