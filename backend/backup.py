"""Consistent online backups of the SQLite database, taken while the service keeps running.

SQLite's backup API copies the database page by page inside a read transaction, so the copy is a consistent snapshot
even with writers active (WAL mode lets them go on). For PostgreSQL use pg_dump or continuous archiving instead.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from backend.config import ROOT, Settings


class BackupError(RuntimeError):
    """The backup cannot be made; the message says why, in words for the operator."""


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError("This backup command is for SQLite. For PostgreSQL use pg_dump or continuous WAL archiving.")
    return Path(settings.database_url.split(":///", 1)[1])


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copies ``source`` to ``target`` consistently and checks the copy before reporting success."""
    if not source.is_file() or source.stat().st_size == 0:
        raise BackupError(f"There is no database at {source}: nothing to back up. Check SPASM_DATABASE_URL.")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_suffix(target.suffix + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)  # health data: readable by the service's own user only
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as src, sqlite3.connect(partial) as dst:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst, pages=1024)
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise RuntimeError(f"the backup failed its integrity check: {check}")
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    partial.replace(target)  # only a complete, checked copy gets the final name
    return target


def default_target(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.UTC)
    return ROOT / "var" / "backups" / f"spasm-diary-{now:%Y%m%dT%H%M%SZ}.db"
