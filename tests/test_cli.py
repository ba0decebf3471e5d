"""`make run` and `python -m backend.cli serve` as a person meets them, in real processes: a busy port is said plainly
with the SPASM_PORT hint before any banner (no traceback), Ctrl+C is a clean stop with status 0 (for make too, in a
real terminal), and the development log says each request's method, route, status and time."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx

from backend import logs
from backend.config import ROOT
from tests.support.servers import free_port, wait_ready


def environment(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SPASM_ENV": "test",
        "SPASM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "SPASM_SECRET_KEY": "test-cli-" + "x" * 40,
        "SPASM_LOAD_DEMO_DATA": "0",
        "SPASM_SWEEP_SECONDS": "0",
        "SPASM_REMINDER_SECONDS": "0",
        "SPASM_PORT": str(port),
    }


def migrated(tmp_path: Path, port: int) -> dict[str, str]:
    env = environment(tmp_path, port)
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


def test_a_busy_port_is_said_with_the_hint_and_no_traceback(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**environment(tmp_path, port), "SPASM_LOAD_DEMO_DATA": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli", "serve"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert f"port {port} on 127.0.0.1 is already in use" in said and f"SPASM_PORT={port + 1} make run" in said
    assert "Traceback" not in said
    assert "password" not in said and "starting on" not in said  # the banner comes only once the port is free


def test_sigint_stops_the_server_cleanly_with_status_0(tmp_path: Path) -> None:
    port = free_port()
    env = migrated(tmp_path, port)
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_ready(server, port), "the server did not start"
        assert httpx.get(f"http://127.0.0.1:{port}/sign-in").status_code == 200
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    text = out.decode()
    assert server.returncode == 0, text
    assert "Traceback" not in text and "Spasm diary stopped." in text
    # The development access line: method, route, status and time.
    assert any(line.split(" INFO spasm.access ")[-1].startswith("GET /sign-in 200 ") for line in text.splitlines()), (
        text
    )


def test_ctrl_c_in_a_terminal_ends_make_run_with_status_0(tmp_path: Path) -> None:
    """The terminal sends SIGINT to its foreground process group: before, make got it too and ended with status 2."""
    port = free_port()
    env = migrated(tmp_path, port)
    master, terminal = pty.openpty()

    def own_terminal() -> None:  # a new session whose controlling terminal is the pty, as a terminal window gives
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    seen = b""

    def read(seconds: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and make.poll() is None:
            read(0.5)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        assert make.poll() is None, seen.decode(errors="replace")
        os.write(master, b"\x03")  # Ctrl+C
        for _ in range(60):
            read(0.5)
            if make.poll() is not None:
                break
        read(0.5)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=10)
        os.close(master)
    text = seen.decode(errors="replace")
    assert make.returncode == 0, text
    assert "Interrupt" not in text and "Traceback" not in text and "Spasm diary stopped." in text


def test_the_text_log_line_of_a_request() -> None:
    record = logging.makeLogRecord(
        {
            "name": "spasm.access",
            "levelname": "INFO",
            "levelno": 20,
            "msg": "request",
            "method": "PUT",
            "route": "/api/v1/episodes/{episode_id}",
            "status": 201,
            "ms": 3.4,
            "request_id": "ab12",
        }
    )
    line = logs.TextFormatter().format(record)
    assert line.endswith(" INFO spasm.access PUT /api/v1/episodes/{episode_id} 201 3.4 ms request_id=ab12")
    other = logging.makeLogRecord({"name": "uvicorn.error", "levelname": "INFO", "msg": "hi", "color_message": "x"})
    assert logs.TextFormatter().format(other).endswith(" INFO uvicorn.error hi")
