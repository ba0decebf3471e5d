"""Nothing acknowledged is ever lost: a real server process killed with SIGKILL under load, and online backups.

The crash test runs against a real uvicorn process on the database of this run (a SQLite file with WAL and
synchronous=FULL, or the PostgreSQL server with synchronous_commit on). Backups are of SQLite files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from backend.backup import backup_sqlite
from backend.config import ROOT
from tests.support.databases import DatabaseServer, migrate
from tests.support.servers import free_port, start_server


def signed_in_client(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10)
    token = client.get("/api/v1/auth/session").json()["csrf_token"]
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": f"d-{uuid.uuid4().hex[:10]}@example.org",
            "password": "durable pass-phrase",
            "display_name": "D",
        },
        headers={"x-csrf-token": token},
    )
    assert response.status_code == 201, response.text
    return client, response.json()["csrf_token"]


def episode(minutes_ago: int) -> dict[str, object]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return {
        "kind": "spasm",
        "started_at": start.isoformat(),
        "intensity": 4,
        "body_sites": [{"site": "calf", "side": "right"}],
    }


def stored_episode_ids(url: str) -> set[str]:
    """Read straight from the database, bypassing the app: what is really on disk after the crash."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return {uuid.UUID(hex=row[0]).hex for row in conn.execute("SELECT id FROM episodes")}

    async def read() -> set[str]:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return {row["id"].hex for row in await conn.fetch("SELECT id FROM episodes")}
        finally:
            await conn.close()

    return asyncio.run(read())


def test_every_acknowledged_episode_survives_a_sigkill_under_load(database_server: DatabaseServer) -> None:
    url = database_server.new_database(f"durable_{uuid.uuid4().hex[:8]}")
    migrate(url)
    port = free_port()
    server = start_server(url, port)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer() -> None:
        client, token = signed_in_client(f"http://127.0.0.1:{port}")
        n = 0
        while not stop.is_set():
            episode_id = str(uuid.uuid4())
            n += 1
            try:
                response = client.put(
                    f"/api/v1/episodes/{episode_id}", json=episode(n % 600 + 1), headers={"x-csrf-token": token}
                )
            except httpx.HTTPError:
                return  # the server died mid-request: that one was never acknowledged
            if response.status_code in (200, 201):
                with lock:
                    acknowledged.append(episode_id)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(acknowledged) < 150:
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        if server.poll() is None:
            server.kill()
    assert len(acknowledged) >= 20, "the load never got going"
    stored = stored_episode_ids(url)
    missing = [a for a in acknowledged if uuid.UUID(a).hex not in stored]
    assert missing == [], f"{len(missing)} acknowledged episodes were lost"


def test_an_online_backup_taken_under_writes_restores_to_a_working_database(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    migrate(f"sqlite+aiosqlite:///{db}")
    port = free_port()
    server = start_server(db, port)
    try:
        client, token = signed_in_client(f"http://127.0.0.1:{port}")
        before = []
        for i in range(30):
            episode_id = str(uuid.uuid4())
            assert (
                client.put(
                    f"/api/v1/episodes/{episode_id}", json=episode(i + 1), headers={"x-csrf-token": token}
                ).status_code
                == 201
            )
            before.append(episode_id)
        stop = threading.Event()

        def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                client.put(
                    f"/api/v1/episodes/{uuid.uuid4()}", json=episode(n % 500 + 40), headers={"x-csrf-token": token}
                )

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            backup = backup_sqlite(db, tmp_path / "backups" / "copy.db")
        finally:
            stop.set()
            writer.join(timeout=15)
    finally:
        server.kill()
        server.wait(timeout=10)
    restored = tmp_path / "restored.db"
    restored.write_bytes(backup.read_bytes())
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM episodes")}
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert all(uuid.UUID(e).hex in stored for e in before)
    # The restored file is a working database: the service starts on it and serves the same diary.
    port = free_port()
    server = start_server(restored, port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        server.kill()
        server.wait(timeout=10)


def test_make_backup_command_writes_a_checked_copy(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    migrate(f"sqlite+aiosqlite:///{db}")
    target = tmp_path / "out" / "cli-copy.db"
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "backup", "--to", str(target)],
        cwd=ROOT,
        env={**os.environ, "SPASM_DATABASE_URL": f"sqlite+aiosqlite:///{db}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Backup written to" in result.stdout
    with sqlite3.connect(target) as conn:
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} >= {
            "episodes",
            "users",
        }


def test_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "backup", "--to", str(tmp_path / "copy.db")],
        cwd=ROOT,
        env={**os.environ, "SPASM_DATABASE_URL": f"sqlite+aiosqlite:///{missing}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "nothing to back up" in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists() and not (tmp_path / "copy.db").exists()
