"""Real app processes for the tests that need one: a uvicorn on 127.0.0.1 with its own environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.config import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path | str, port: int, log: Path | None = None, **extra_env: str) -> subprocess.Popen[bytes]:
    """A server on `db` (a database URL, or a SQLite file), ready when /readyz answers. `extra_env` adds or replaces
    SPASM_* settings; with `log`, the process's output is kept there and shown if it does not start."""
    env = {
        **os.environ,
        "SPASM_ENV": "test",
        "SPASM_DATABASE_URL": db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}",
        "SPASM_SECRET_KEY": "test-server-" + "x" * 40,
        "SPASM_LOAD_DEMO_DATA": "0",
        "SPASM_SWEEP_SECONDS": "0",
        "SPASM_LIMIT_SIGN_IN_PER_ADDRESS": "100000",
        "SPASM_LIMIT_REGISTER_PER_ADDRESS": "100000",
        **extra_env,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if log is None:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if wait_ready(process, port):
        return process
    process.kill()
    process.wait(timeout=10)
    raise RuntimeError("the server did not start" + (f":\n{log.read_text()[-3000:]}" if log else ""))


def wait_ready(process: subprocess.Popen[bytes], port: int, seconds: float = 30) -> bool:
    """Whether the server on ``port`` answers /readyz within ``seconds`` (False at once if the process ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
