"""Command line: ``python -m backend.cli demo`` loads the demo data once; ``serve`` runs the web server."""

from __future__ import annotations

import argparse
import asyncio
import os

from backend import demo
from backend.config import load_settings
from backend.db import make_engine, make_sessionmaker


async def _load_demo() -> None:
    settings = load_settings()
    if settings.production or not settings.load_demo_data:
        return
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as db:
            if await demo.load_demo(db):
                print("Loaded the demo diary (16 weeks for one patient) and a demo clinician.")
                from backend.flags.services import sweep

                await sweep(make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _sweep() -> None:
    from backend.flags.services import sweep

    settings = load_settings()
    engine = make_engine(settings)
    try:
        count = await sweep(make_sessionmaker(engine))
        print(f"Evaluated the follow-up rules for {count} patients.")
    finally:
        await engine.dispose()


def _banner(host: str, port: int) -> None:
    settings = load_settings()
    print(f"\nSpasm diary is starting on http://{host}:{port}\n")
    if not settings.production and settings.load_demo_data:
        print("Sign in with one of the demo accounts:")
        print(f"  patient:   {demo.PATIENT_EMAIL}  password: {demo.PATIENT_PASSWORD}")
        print(f"  clinician: {demo.CLINICIAN_EMAIL}  password: {demo.CLINICIAN_PASSWORD}")
        print("or create your own account at /register. Stop the server with Ctrl+C.\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="backend.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="load the demo accounts and diary into an empty database")
    backup = sub.add_parser("backup", help="consistent online backup of the SQLite database")
    backup.add_argument("--to", default=None, help="target file (default var/backups/spasm-diary-<time>.db)")
    sub.add_parser("sweep", help="evaluate the follow-up rules for every patient once (e.g. from cron)")
    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default=os.environ.get("SPASM_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("SPASM_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("SPASM_WORKERS", "1")))
    args = parser.parse_args()
    if args.command == "demo":
        asyncio.run(_load_demo())
    elif args.command == "backup":
        from pathlib import Path

        from backend.backup import backup_sqlite, default_target, sqlite_path

        target = backup_sqlite(sqlite_path(load_settings()), Path(args.to) if args.to else default_target())
        print(f"Backup written to {target}")
        print(
            f"To restore: stop the service, then copy it over {sqlite_path(load_settings())} (and delete any -wal file)."
        )
    elif args.command == "sweep":
        asyncio.run(_sweep())
    elif args.command == "serve":
        import uvicorn

        load_settings()  # refuse to start on unsafe settings before binding the port
        _banner(args.host, args.port)
        uvicorn.run("backend.asgi:app", host=args.host, port=args.port, workers=args.workers, log_level="info",
                    proxy_headers=False)  # fmt: skip


if __name__ == "__main__":
    main()
