"""(a) Episode logging under load, beside a bare JSON endpoint of the same app; (b) a sync upload of 500 episodes;
(f) the server's peak memory.

A real server process on a throw-away SQLite file (WAL, synchronous=FULL: an answered write is on disk), with the
production log (a JSON access line per request), loaded by wrk (Debian's package) from the same 2-core machine at 32
connections: PUT /api/v1/episodes/{new uuid} as 32 patients in turn, against GET /healthz. Afterwards the database
must hold at least every acknowledged episode; the audit rows show how many commits the writes took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from backend.config import ROOT
from tests.support.servers import wait_ready

CONNECTIONS = 32
SECONDS = 10
PATIENTS = 32
LUA = """
local patients = {%(patients)s}
local n = 0
local body = '{"kind":"spasm","started_at":"%(started)s","intensity":5,"body_sites":[{"site":"calf","side":"left"}]}'
local hex = "0123456789abcdef"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local function uuid4()
  local parts = {}
  for i = 1, 32 do
    local r = math.random(1, 16)
    if i == 13 then r = 5 end
    if i == 17 then r = 9 end
    parts[i] = hex:sub(r, r)
  end
  local s = table.concat(parts)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21, 32)
end
request = function()
  n = n + 1
  local p = patients[(n %% #patients) + 1]
  return wrk.format("PUT", "/api/v1/episodes/" .. uuid4(),
    {["Cookie"] = p[1], ["X-CSRF-Token"] = p[2], ["Content-Type"] = "application/json"}, body)
end
"""


def _environment(database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPASM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SPASM_SECRET_KEY": "w" * 40,
        "SPASM_SWEEP_SECONDS": "0",
        "SPASM_LIMIT_WRITES_PER_MINUTE": "100000000",
        "SPASM_LIMIT_REGISTER_PER_ADDRESS": "1000000",
        # As in production: a JSON access line per request (the bench's output goes nowhere, not to a terminal).
        "SPASM_LOG_LEVEL": "info",
        "SPASM_LOG_FORMAT": "json",
    }


def start(database: Path, port: int, command: list[str] | None = None) -> subprocess.Popen[bytes]:
    env = _environment(database)
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    command = command or [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)]
    # A session of its own, so that stop() also ends the workers a server starts (granian serves from a child).
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    if wait_ready(process, port):
        return process
    stop(process)
    raise RuntimeError("the server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def patients(base: str, count: int) -> list[tuple[str, str]]:
    found = []
    for n in range(count):
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.get("/api/v1/auth/session").json()["csrf_token"]
            made = client.post(
                "/api/v1/auth/register",
                headers={"x-csrf-token": token},
                json={
                    "email": f"load-{n}-{uuid.uuid4().hex[:6]}@example.org",
                    "password": "load test pass-phrase",
                    "display_name": f"Load {n}",
                    "time_zone": "Europe/Madrid",
                },
            )
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            found.append((cookie, made.json()["csrf_token"]))
    return found


def wrk(url: str, script: Path | None = None, seconds: int = SECONDS) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]  # type: ignore[union-attr]
    return {
        "rate": rate,
        "p99_ms": float(p99.group(1)) * scale,
        "total": total,  # type: ignore[union-attr]
        "failed": int(bad.group(1)) if bad else 0,
    }


def peak_memory_mb(pid: int) -> float:
    """VmHWM, the high-water mark of resident memory from the kernel, summed over the server and its worker
    processes (granian serves from a child process)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += peak_memory_mb(int(child))
    status = Path(f"/proc/{pid}/status").read_text()
    return total + int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def _ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def logging_under_load(folder: Path, port: int, label: str, command: list[str] | None = None) -> None:
    database = folder / f"{label}.db"
    server = start(database, port, command)
    try:
        base = f"http://127.0.0.1:{port}"
        people = patients(base, PATIENTS)
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        script = folder / "put.lua"
        script.write_text(LUA % {"patients": ",".join(f'{{"{c}","{t}"}}' for c, t in people), "started": started})
        bare = wrk(f"{base}/healthz")
        writes = wrk(base, script)
        acknowledged = writes["total"] - writes["failed"]
        time.sleep(1)
        with sqlite3.connect(database) as db:
            stored = db.execute("SELECT count(*) FROM episodes").fetchone()[0]
            # Every write of one batch shares its commit time: the audit rows show how the writes were grouped.
            commits = db.execute(
                "SELECT count(DISTINCT at) FROM audit_events WHERE action = 'episode.create'"
            ).fetchone()[0]
        memory = peak_memory_mb(server.pid)
        print(
            f"{label}: PUT /api/v1/episodes {writes['rate']:7.0f}/s p99 {writes['p99_ms']:6.1f} ms "
            f"(failed {writes['failed']})  |  GET /healthz {bare['rate']:7.0f}/s p99 {bare['p99_ms']:5.1f} ms  |  "
            f"writes at {writes['rate'] / bare['rate']:.0%} of the bare endpoint; target 2000/s, p99 < 50 ms"
        )
        print(
            f"{label}: durable: {stored} episodes on disk for {acknowledged} acknowledged "
            f"({'every one' if stored >= acknowledged else 'SOME MISSING'}) in {commits} commits "
            f"({stored / max(commits, 1):.1f} episodes per commit); peak memory {memory:.0f} MB"
        )
    finally:
        stop(server)


def sync_upload(folder: Path, port: int) -> None:
    """(b) A phone back online with 500 queued episodes, sent one PUT after another as the outbox does."""
    database = folder / "upload.db"
    server = start(database, port)
    try:
        base = f"http://127.0.0.1:{port}"
        cookie, token = patients(base, 1)[0]
        started = time.time()
        bodies = [
            {
                "kind": "spasm",
                "intensity": n % 10,
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 3600 - n * 600)),
                "body_sites": [{"site": "calf", "side": "left"}],
            }
            for n in range(500)
        ]
        headers = {"Cookie": cookie, "x-csrf-token": token}
        with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
            begin = time.perf_counter()
            for body in bodies:
                assert client.put(f"/api/v1/episodes/{uuid.uuid4()}", json=body).status_code == 201
            upload = time.perf_counter() - begin
            begin = time.perf_counter()
            cursor, pages = "", 0
            while True:
                page = client.get("/api/v1/sync", params={"since": cursor} if cursor else {}).json()
                pages += 1
                cursor = page["cursor"]
                if not page["more"]:
                    break
            feed = time.perf_counter() - begin
            begin = time.perf_counter()
            for _ in range(50):
                client.get("/healthz")
            bare = (time.perf_counter() - begin) / 50
        print(
            f"sync upload: 500 queued episodes in {upload:.2f} s ({upload / 500 * 1000:.1f} ms each, one after "
            f"another); the phone's copy back from the feed in {feed * 1000:.0f} ms ({pages} pages); "
            f"one GET /healthz round trip {bare * 1000:.1f} ms"
        )
    finally:
        stop(server)


async def run() -> None:
    _ensure_wrk()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        await asyncio.to_thread(logging_under_load, folder, 8791, "uvicorn")
        granian = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            "8793",
            "--workers",
            "1",
            "--log-level",
            "warning",
            "backend.asgi:app",
        ]
        await asyncio.to_thread(logging_under_load, folder, 8793, "granian", granian)
        await asyncio.to_thread(sync_upload, folder, 8792)
