"""The periodic sweep inside each app process: re-evaluates every patient for rules that depend on time passing.

Several processes may sweep at once: flags are updated, never duplicated (a unique index allows one live flag per
rule and patient), so the only cost of overlap is repeated work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.flags.services import sweep

log = logging.getLogger("spasm.flags")


class Sweeper:
    def __init__(self, maker: async_sessionmaker[AsyncSession], every_seconds: int) -> None:
        self.maker = maker
        self.every = every_seconds
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.every > 0 and self.task is None:
            self.task = asyncio.create_task(self._loop(), name="flag-sweep")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                count = await sweep(self.maker)
                log.info("flag sweep evaluated %d patients", count)
            except Exception:
                log.exception("flag sweep failed; trying again next time")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
