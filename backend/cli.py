"""Command line: ``python -m backend.cli demo`` loads the demo data once; ``serve`` runs the web server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import signal
import socket
from collections.abc import Callable

from backend import demo, logs
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


async def _set_disabled(email: str, disabled: bool) -> None:
    """An operator disables an account (or enables it again); disabling ends its sessions at once (ASVS 7.4.2)."""
    from backend.accounts.services import set_disabled

    engine = make_engine(load_settings())
    try:
        async with make_sessionmaker(engine)() as db:
            user = await set_disabled(db, email, disabled)
    finally:
        await engine.dispose()
    if user is None:
        raise SystemExit(f"no account has the e-mail address {email!r}")
    if disabled:
        print(f"Account {user.email} ({user.role}) disabled; its sessions ended and it cannot sign in.")
    else:
        print(f"Account {user.email} ({user.role}) enabled again; it can sign in with its password.")


def _port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port``, in words with what to do, or None when it can. Tried before
    the banner, so that a busy port is said plainly instead of a traceback under the demo passwords."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"cannot listen on {host}: no such address. Set SPASM_HOST to an address of this machine."
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket is no bar
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another `make run`, or another program). Stop it, or "
                    f"choose another port: SPASM_PORT={port + 1} make run"
                )
            if exc.errno == errno.EACCES:
                return f"not allowed to listen on port {port}. Choose a port above 1023: SPASM_PORT=8000 make run"
            return f"cannot listen on {host}:{port} ({exc.strerror}). Try another port: SPASM_PORT={port + 1} make run"
    return None


def _own_the_terminal() -> Callable[[], None]:
    """Ctrl+C stops the server alone, so that ``make run`` ends with status 0: a terminal sends SIGINT to its whole
    foreground process group, make included, and make then reports "Interrupt" and exits 2 however cleanly the server
    stopped. Like a shell starting a job, the server takes a process group of its own and makes it the terminal's
    foreground one; the returned function gives the terminal back. Without a terminal (a service, a test) nothing
    changes."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return lambda: None
    try:
        before = os.tcgetpgrp(tty)
        if before != os.getpgrp() or os.getpid() == os.getsid(0):  # not in the foreground, or already on our own
            os.close(tty)
            return lambda: None
        os.setpgid(0, 0)
        quiet = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not set the foreground
        try:
            os.tcsetpgrp(tty, os.getpgrp())
        finally:
            signal.signal(signal.SIGTTOU, quiet)
    except OSError:
        os.close(tty)
        return lambda: None

    def give_back() -> None:
        quiet = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(tty, before)
        except OSError:
            pass
        finally:
            signal.signal(signal.SIGTTOU, quiet)
            os.close(tty)

    return give_back


def _banner(host: str, port: int) -> None:
    settings = load_settings()
    print(f"\nSpasm diary is starting on http://{host}:{port}\n")
    if not settings.production and settings.load_demo_data:
        print("Sign in with one of the demo accounts:")
        print(f"  patient:   {demo.PATIENT_EMAIL}  password: {demo.PATIENT_PASSWORD}")
        print(f"  clinician: {demo.CLINICIAN_EMAIL}  password: {demo.CLINICIAN_PASSWORD}")
        print("or create your own account at /register. Stop the server with Ctrl+C.\n", flush=True)


async def _refuse_demo_accounts() -> None:
    """The demo accounts' passwords are printed in the README: a production database must not hold them."""
    from sqlalchemy import func, select

    from backend.accounts.models import User

    engine = make_engine(load_settings())
    try:
        async with make_sessionmaker(engine)() as db:
            found = (
                await db.execute(
                    select(func.count())
                    .select_from(User)
                    .where(User.email.in_([demo.PATIENT_EMAIL, demo.CLINICIAN_EMAIL]))
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    if found:
        raise SystemExit(
            "refusing to start in production: this database holds the demo accounts, whose passwords are "
            "public. Use a fresh database, or erase those accounts first."
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="backend.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="load the demo accounts and diary into an empty database")
    backup = sub.add_parser("backup", help="consistent online backup of the SQLite database")
    backup.add_argument("--to", default=None, help="target file (default var/backups/spasm-diary-<time>.db)")
    sub.add_parser("sweep", help="evaluate the follow-up rules for every patient once (e.g. from cron)")
    for name, words in (
        ("disable-account", "disable an account and end its sessions at once"),
        ("enable-account", "let a disabled account sign in again"),
    ):
        sub.add_parser(name, help=words).add_argument("email")
    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default=os.environ.get("SPASM_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("SPASM_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("SPASM_WORKERS", "1")))
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("SPASM_FORWARDED_ALLOW_IPS", ""),
        help="behind a proxy: its address(es); only then is X-Forwarded-For believed, and only from there",
    )
    args = parser.parse_args()
    if args.command == "demo":
        asyncio.run(_load_demo())
    elif args.command == "backup":
        from pathlib import Path

        from backend.backup import BackupError, backup_sqlite, default_target, sqlite_path

        try:
            target = backup_sqlite(sqlite_path(load_settings()), Path(args.to) if args.to else default_target())
        except BackupError as exc:
            raise SystemExit(f"backup failed: {exc}") from None
        print(f"Backup written to {target}")
        print(
            f"To restore: stop the service, then copy it over {sqlite_path(load_settings())} (and delete any -wal file)."
        )
    elif args.command == "sweep":
        asyncio.run(_sweep())
    elif args.command in {"disable-account", "enable-account"}:
        asyncio.run(_set_disabled(args.email, args.command == "disable-account"))
    elif args.command == "serve":
        import uvicorn

        # The base URL follows the port chosen here unless it was set on purpose (links in exports use it).
        os.environ.setdefault("SPASM_BASE_URL", f"http://{args.host}:{args.port}")
        settings = load_settings()  # refuse to start on unsafe settings before binding the port
        if settings.production:
            asyncio.run(_refuse_demo_accounts())
        if problem := _port_problem(args.host, args.port):
            raise SystemExit(f"Spasm diary cannot start: {problem}")
        _banner(args.host, args.port)
        proxy = bool(args.forwarded_allow_ips)
        give_back = _own_the_terminal()
        try:
            # The app configures logging itself (backend/logs.py); uvicorn's access line would carry ids and queries.
            uvicorn.run(
                "backend.asgi:app",
                host=args.host,
                port=args.port,
                workers=args.workers,
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=proxy,
                forwarded_allow_ips=args.forwarded_allow_ips or None,
            )
        except KeyboardInterrupt:
            pass  # Ctrl+C is how a person stops it: a clean exit, not a traceback
        finally:
            give_back()
            logs.flush()
        print("Spasm diary stopped.", flush=True)


if __name__ == "__main__":
    from backend.config import ConfigError

    try:
        main()
    except ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
