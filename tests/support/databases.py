"""Real databases for the tests: SQLite files, or a throw-away PostgreSQL cluster on 127.0.0.1.

The PostgreSQL cluster is made with initdb and started with pg_ctl by the tests themselves, as the ``postgres`` user
when the tests run as root (the server refuses to run as root). It is stopped and removed at the end of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Protocol

from alembic.config import Config

from alembic import command
from backend.config import ROOT


class DatabaseServer(Protocol):
    kind: str

    def new_database(self, name: str) -> str: ...

    def stop(self) -> None: ...


class SqliteFiles:
    kind = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def new_database(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.directory / (name + '.db')}"

    def stop(self) -> None:
        pass


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed; `make test` installs it (tests/ensure-system-packages)"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    kind = "postgresql"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(directory, entry.pw_uid, entry.pw_gid)
            # the server must be able to reach its directory through every parent
            for parent in directory.parents:
                if str(parent) in {"/", "/tmp"}:
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {directory} -c max_connections=200"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(directory / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def _run(self, *args: str) -> None:
        command_line = list(args)
        if self.as_postgres:
            command_line = ["runuser", "-u", "postgres", "--", *command_line]
        subprocess.run(command_line, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def new_database(self, name: str) -> str:
        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def make_database_server(kind: str, directory: Path) -> DatabaseServer:
    if kind == "sqlite":
        return SqliteFiles(directory)
    if kind == "postgresql":
        return PostgresCluster(directory)
    raise ValueError(f"SPASM_TEST_DATABASE must be sqlite or postgresql, got {kind!r}")


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
