"""Several app processes on one database behave as one service: nothing lives in a single process's memory."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from tests.support.databases import DatabaseServer, migrate
from tests.support.servers import free_port, start_server


def test_a_session_made_on_one_process_works_on_another(database_server: DatabaseServer) -> None:
    url = database_server.new_database(f"two_processes_{uuid.uuid4().hex[:8]}")
    migrate(url)
    ports = [free_port(), free_port()]
    servers = [start_server(url, port) for port in ports]
    try:
        a = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=10)
        token = a.get("/api/v1/auth/session").json()["csrf_token"]
        made = a.post(
            "/api/v1/auth/register",
            headers={"x-csrf-token": token},
            json={
                "email": f"p-{uuid.uuid4().hex[:8]}@example.org",
                "password": "shared pass-phrase",
                "display_name": "P",
            },
        )
        assert made.status_code == 201
        csrf = made.json()["csrf_token"]
        b = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=10, cookies=a.cookies)
        assert b.get("/api/v1/auth/session").json()["user"]["id"] == made.json()["user"]["id"]
        episode_id = uuid.uuid4()
        body = {
            "kind": "spasm",
            "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "intensity": 4,
            "body_sites": [{"site": "calf", "side": "left"}],
        }
        assert b.put(f"/api/v1/episodes/{episode_id}", json=body, headers={"x-csrf-token": csrf}).status_code == 201
        assert a.get(f"/api/v1/episodes/{episode_id}").status_code == 200
        # Signing out on one process ends the session everywhere.
        assert a.post("/api/v1/auth/sign-out", headers={"x-csrf-token": csrf}).status_code == 204
        stale = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=10, cookies=b.cookies)
        assert stale.get(f"/api/v1/episodes/{episode_id}").status_code == 401
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)
