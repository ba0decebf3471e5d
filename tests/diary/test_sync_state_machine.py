"""The offline sync protocol as a state machine: a phone with an outbox, against the real API.

The phone (one patient, one device; every run of the machine first deletes what the previous run left live, so it
starts from an empty diary) records episodes while offline and uploads them later, in order:

- create offline under a fresh uuid; edit offline; delete offline; create then delete before uploading;
- an edit or delete may be merged into a pending entry for the same episode that was never sent (coalescing), or be
  queued after it;
- an edit is sent with If-Match set to the version the phone last saw acknowledged for that episode; a delete with it
  or without it;
- flush: send the head of the outbox, and on the answer drop it and remember the version;
- drop an answer: send the head, but the answer is lost, so the entry stays and is sent again later;
- replay: an entry whose answer already arrived is delivered again (a retry of the network layer).

Next to the phone runs a reference model of the server: the versioned-write rules of backend/diary/services.py
written out plainly. Every request's status is checked against it, and after every step:

- the patient's live episodes on the server are exactly the model's: nothing lost, nothing listed twice, no ghost of
  a created-then-deleted episode, no resurrection after a delete;
- each one has the model's version and content, and versions only grow;
- once the outbox is empty, the server holds exactly what the phone shows.

The app and its httpx client run on an event loop of their own (an anyio portal thread), not on pytest-asyncio's
session loop: Hypothesis drives the machine synchronously, and asyncpg connections belong to the loop that opened them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio.from_thread
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from litestar import Litestar

from backend.app import create_app
from backend.diary.schemas import EpisodeIn
from tests.conftest import Api, make_settings
from tests.diary.strategies import episodes

SETTINGS = settings(
    max_examples=30, stateful_step_count=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
NOT_CONTENT = {"id", "version", "entered_at", "received_at", "updated_at", "safety"}


def content(record: dict[str, Any]) -> dict[str, Any]:
    """What the patient said, in a canonical form: a request body or a stored record, with the defaults filled in and
    the bookkeeping fields left out. Instants keep their UTC offset, as the server's content fingerprint does."""
    decoded = msgspec.convert({k: v for k, v in record.items() if k not in NOT_CONTENT}, EpisodeIn)
    return {k: v for k, v in msgspec.to_builtins(decoded).items() if k != "entered_at"}


class Server:
    """The app on an event loop of its own; `call` runs one coroutine function there and waits for it."""

    def __init__(self, portal: Any, app: Litestar) -> None:
        self.portal = portal
        self.app = app
        self._patient: Api | None = None
        self._client: httpx.AsyncClient | None = None

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.portal.call(functools.partial(fn, *args, **kwargs))

    def patient(self) -> Api:
        """One patient for every run of the machine (registering costs an Argon2 hash); each run starts by deleting
        what the previous one left live, so the diary it sees is empty."""
        if self._patient is None:

            async def register() -> Api:
                self._client = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=self.app), base_url="http://testserver.local"
                )
                api = Api(self._client)
                await api.register("patient")
                return api

            self._patient = self.call(register)
        return self._patient

    def close(self) -> None:
        if self._client is not None:
            self.call(self._client.aclose)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    app = create_app(make_settings(database_url))
    with anyio.from_thread.start_blocking_portal() as portal:
        server = Server(portal, app)
        try:
            yield server
        finally:
            server.close()
            portal.call(app.state.evaluator.drain)
            portal.call(app.state.engine.dispose)


def step(method: Any) -> Any:
    """Marks the machine as failed when a step raises, so that teardown does not pile a second failure on top."""

    @functools.wraps(method)
    def run(self: PhoneSync, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    return run


# -- the phone and the reference model ---------------------------------------------------------------------------------


@dataclass
class Pending:
    """An entry of the outbox."""

    kind: str  # "create", "edit" or "delete"
    episode_id: str
    body: dict[str, Any] | None = None
    conditional: bool = True  # a delete: send If-Match
    attempted: bool = False  # sent at least once, answer lost: the server may have it, so it is never merged into


@dataclass(frozen=True)
class Request:
    """What went over the wire, kept to be delivered again."""

    method: str
    episode_id: str
    body: dict[str, Any] | None
    if_match: int | None

    def describe(self) -> str:
        return f"{self.method} {self.episode_id} If-Match={self.if_match} {self.body}"


@dataclass
class Stored:
    """The reference model's record."""

    content: dict[str, Any]
    version: int
    deleted: bool = False


@dataclass
class Model:
    """The versioned-write rules (backend/diary/services.py), to predict each answer and the state after it."""

    records: dict[str, Stored] = field(default_factory=dict)

    def apply(self, request: Request) -> int:
        """The status the server must answer; the record changes as the server's must."""
        row = self.records.get(request.episode_id)
        if request.method == "DELETE":
            if row is None:
                return 404
            if row.deleted:
                return 204  # a replayed delete
            if request.if_match is not None and request.if_match != row.version:
                return 412
            row.deleted, row.version = True, row.version + 1
            return 204
        assert request.body is not None
        wanted = content(request.body)
        if row is None:
            if request.if_match is not None:
                return 404
            self.records[request.episode_id] = Stored(wanted, 1)
            return 201
        if row.deleted:
            return 410
        if row.content == wanted:  # a replay: the stored record is the answer
            return 201 if row.version == 1 and request.if_match is None else 200
        if request.if_match is None:
            return 428
        if request.if_match != row.version:
            return 412
        row.content, row.version = wanted, row.version + 1
        return 200

    def live(self) -> dict[str, Stored]:
        return {i: r for i, r in self.records.items() if not r.deleted}

    def snapshot(self) -> dict[str, tuple[Any, ...]]:
        return {i: (r.version, r.deleted, msgspec.json.encode(r.content)) for i, r in self.records.items()}


class PhoneSync(RuleBasedStateMachine):
    server: Server  # set on a subclass by the test

    def __init__(self) -> None:
        super().__init__()
        self.failed = False
        self.api = self.server.patient()
        for item in self.server_live():
            gone = self.server.call(self.api.delete, f"/api/v1/episodes/{item['id']}")
            assert gone.status_code == 204, gone.text
        self.outbox: list[Pending] = []
        self.local: dict[str, dict[str, Any]] = {}  # what the phone shows: live episodes and their latest content
        self.known: dict[str, int] = {}  # the version last acknowledged by the server, per episode
        self.delivered: list[Request] = []  # requests whose answer arrived
        self.model = Model()
        self.highest: dict[str, int] = {}  # the highest version the server has shown, per episode
        self.copy: dict[str, dict[str, Any]] = {}  # a second device's copy, kept only from GET /api/v1/sync
        self.cursor: str | None = None

    def teardown(self) -> None:
        """The phone comes back online for good: everything still queued goes up, then the final state is checked
        (unless a step already failed: that failure is the one to report)."""
        if self.failed:
            return
        if self.outbox:
            self.flush(len(self.outbox))
        self.the_server_holds_exactly_the_model()
        self.once_uploaded_the_server_shows_what_the_phone_shows()

    # -- talking to the server

    def send(self, request: Request) -> Any:
        url = f"/api/v1/episodes/{request.episode_id}"
        headers = {"If-Match": f'"{request.if_match}"'} if request.if_match is not None else {}
        if request.method == "DELETE":
            response = self.server.call(self.api.delete, url, headers=headers)
        else:
            response = self.server.call(self.api.put, url, json=request.body, headers=headers)
        expected = self.model.apply(request)
        assert response.status_code == expected, (request.describe(), expected, response.status_code, response.text)
        if response.status_code in (200, 201):
            record = response.json()
            stored = self.model.records[request.episode_id]
            assert record["version"] == stored.version, (request.describe(), record["version"], stored.version)
            assert content(record) == stored.content, request.describe()
            assert response.headers["etag"] == f'"{record["version"]}"'
        return response

    def request_for(self, entry: Pending) -> Request:
        if entry.kind == "create":
            return Request("PUT", entry.episode_id, entry.body, None)
        if_match = self.known[entry.episode_id]  # the creation was acknowledged before: the outbox goes in order
        if entry.kind == "edit":
            return Request("PUT", entry.episode_id, entry.body, if_match)
        return Request("DELETE", entry.episode_id, None, if_match if entry.conditional else None)

    # -- offline: the patient uses the app

    @initialize(body=episodes())
    @step
    def first_episode(self, body: dict[str, Any]) -> None:
        self.create_offline(body)

    @rule(
        body=episodes(),
        then_delete=st.sampled_from([False, False, False, True]),
        conditional=st.booleans(),
        coalesce=st.booleans(),
    )
    @step
    def create_offline(
        self, body: dict[str, Any], then_delete: bool = False, conditional: bool = True, coalesce: bool = True
    ) -> None:
        """A new episode under a fresh uuid; now and then deleted again before the phone is back online."""
        episode_id = str(uuid.uuid4())
        self.outbox.append(Pending("create", episode_id, body))
        self.local[episode_id] = body
        if then_delete:
            self.delete(episode_id, conditional, coalesce)

    def last_pending(self, episode_id: str) -> Pending | None:
        return next((e for e in reversed(self.outbox) if e.episode_id == episode_id), None)

    @precondition(lambda self: self.local)
    @rule(data=st.data(), body=episodes(), coalesce=st.booleans())
    @step
    def edit_offline(self, data: st.DataObject, body: dict[str, Any], coalesce: bool) -> None:
        episode_id = data.draw(st.sampled_from(list(self.local)), label="episode")
        last = self.last_pending(episode_id)
        if coalesce and last is not None and not last.attempted and last.kind in ("create", "edit"):
            last.body = body  # never sent: the pending create or edit just carries the new content
        else:
            self.outbox.append(Pending("edit", episode_id, body))
        self.local[episode_id] = body

    @precondition(lambda self: self.local)
    @rule(data=st.data(), conditional=st.booleans(), coalesce=st.booleans())
    @step
    def delete_offline(self, data: st.DataObject, conditional: bool, coalesce: bool) -> None:
        self.delete(data.draw(st.sampled_from(list(self.local)), label="episode"), conditional, coalesce)

    def delete(self, episode_id: str, conditional: bool, coalesce: bool) -> None:
        first = next((e for e in self.outbox if e.episode_id == episode_id), None)
        if coalesce and first is not None and first.kind == "create" and not first.attempted:
            # The server never heard of it: forget every pending entry of this episode (all unsent, in order).
            assert not any(e.attempted for e in self.outbox if e.episode_id == episode_id)
            self.outbox = [e for e in self.outbox if e.episode_id != episode_id]
        else:
            self.outbox.append(Pending("delete", episode_id, conditional=conditional))
        del self.local[episode_id]

    # -- online

    @precondition(lambda self: self.outbox)
    @rule(count=st.integers(min_value=1, max_value=4) | st.just(10_000))
    @step
    def flush(self, count: int) -> None:
        """Upload the head of the outbox, up to `count` entries; every answer arrives."""
        for _ in range(count):
            if not self.outbox:
                break
            entry = self.outbox[0]
            request = self.request_for(entry)
            response = self.send(request)
            # In-order upload by the only writer: every entry must go through.
            assert response.status_code in (200, 201, 204), (request.describe(), response.status_code, response.text)
            self.outbox.pop(0)
            self.delivered.append(request)
            if request.method == "DELETE":
                self.known.pop(entry.episode_id, None)
            else:
                self.known[entry.episode_id] = response.json()["version"]

    @precondition(lambda self: self.outbox)
    @rule()
    @step
    def drop_an_answer(self) -> None:
        """Send the head of the outbox; the server does its work but the answer never reaches the phone."""
        entry = self.outbox[0]
        response = self.send(self.request_for(entry))
        assert response.status_code in (200, 201, 204), response.text
        entry.attempted = True

    @precondition(lambda self: self.delivered)
    @rule(data=st.data(), everything=st.booleans())
    @step
    def replay(self, data: st.DataObject, everything: bool) -> None:
        """Requests whose answers already arrived are delivered again (one of them, or the whole log in order, as a
        retrying network layer might): they must change nothing."""
        if everything:
            requests = list(self.delivered)
        else:
            requests = [data.draw(st.sampled_from(self.delivered), label="replayed")]
        before = self.model.snapshot()
        for request in requests:
            self.send(request)
            assert self.model.snapshot() == before, f"the rules let a replay change something: {request.describe()}"

    @rule(limit=st.integers(min_value=1, max_value=3) | st.just(200))
    @step
    def pull_changes(self, limit: int) -> None:
        """A second device catches up from the changes feed, in pages of `limit`: afterwards its copy is exactly the
        server's live diary, versions included, however the writes and deletes were interleaved with earlier pulls."""
        for _ in range(1000):
            params: dict[str, Any] = {"limit": limit, **({"since": self.cursor} if self.cursor else {})}
            answer = self.server.call(self.api.get, "/api/v1/sync", params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            for record in page["episodes"]:
                known = self.copy.get(record["id"])
                if known is None or known["version"] <= record["version"]:
                    self.copy[record["id"]] = record
            for gone in page["deleted"]:
                assert gone["type"] == "episode"
                known = self.copy.get(str(gone["id"]))
                if known is not None and known["version"] < gone["version"]:
                    del self.copy[str(gone["id"])]
            self.cursor = page["cursor"]
            if not page["more"]:
                break
        else:
            raise AssertionError("the changes feed never said it was done")
        live = self.model.live()
        assert set(self.copy) == set(live), (
            f"copy misses {set(live) - set(self.copy)}, keeps {set(self.copy) - set(live)}"
        )
        for episode_id, record in self.copy.items():
            assert record["version"] == live[episode_id].version, episode_id
            assert content(record) == live[episode_id].content, episode_id

    # -- after every step

    def server_live(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            page = self.server.call(self.api.get, "/api/v1/episodes", params=params)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            if page.json()["next_cursor"] is None:
                return items
            params["cursor"] = page.json()["next_cursor"]

    @invariant()
    @step
    def the_server_holds_exactly_the_model(self) -> None:
        items = self.server_live()
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)), f"listed twice: {sorted(i for i in ids if ids.count(i) > 1)}"
        live = self.model.live()
        assert set(ids) == set(live), f"missing {set(live) - set(ids)}, unexpected {set(ids) - set(live)}"
        for item in items:
            expected = live[item["id"]]
            assert item["version"] == expected.version, (item["id"], item["version"], expected.version)
            assert content(item) == expected.content, item["id"]
            assert item["version"] >= self.highest.get(item["id"], 0), "a version went down"
            self.highest[item["id"]] = item["version"]

    @invariant()
    @step
    def once_uploaded_the_server_shows_what_the_phone_shows(self) -> None:
        if self.outbox:
            return
        live = self.model.live()
        assert set(live) == set(self.local), f"lost {set(self.local) - set(live)}, ghosts {set(live) - set(self.local)}"
        for episode_id, body in self.local.items():
            assert live[episode_id].content == content(body), episode_id
            assert self.known[episode_id] == live[episode_id].version, episode_id


def test_offline_sync_keeps_the_phone_and_the_server_in_step(server: Server) -> None:
    machine = type("PhoneSyncAgainstTheApp", (PhoneSync,), {"server": server})
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_the_model_refuses_what_the_server_must_refuse() -> None:
    """The reference model itself, on the sequence the episode tests pin down, so that a wrong model cannot make the
    machine pass."""
    body = {
        "kind": "cramp",
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "intensity": 6,
        "body_sites": [{"site": "calf", "side": "left"}],
    }
    changed = {**body, "intensity": 9}
    model = Model()
    steps = [
        (Request("PUT", "e", body, None), 201),
        (Request("PUT", "e", body, None), 201),
        (Request("PUT", "e", changed, None), 428),
        (Request("PUT", "e", changed, 1), 200),
        (Request("PUT", "e", body, 1), 412),
        (Request("PUT", "e", changed, 1), 200),
        (Request("PUT", "x", body, 1), 404),
        (Request("DELETE", "e", None, 1), 412),
        (Request("DELETE", "e", None, 2), 204),
        (Request("DELETE", "e", None, None), 204),
        (Request("PUT", "e", body, None), 410),
        (Request("DELETE", "x", None, None), 404),
    ]
    assert [model.apply(request) for request, _ in steps] == [status for _, status in steps]
    assert model.live() == {}
    assert model.records["e"].version == 3
