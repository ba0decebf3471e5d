"""Runs the full rule set shortly after a patient's writes, once per burst.

A phone coming back online may upload hundreds of entries in a few seconds; evaluating after each would repeat the
same work hundreds of times. Writes schedule an evaluation for their patient; while one is waiting, further writes
join it. If the process stops first, the periodic sweep catches up, so nothing depends on this task surviving.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.flags.services import evaluate_in_background


class Evaluator:
    def __init__(self, maker: async_sessionmaker[AsyncSession], delay_seconds: float) -> None:
        self.maker = maker
        self.delay = delay_seconds
        self.pending: set[uuid.UUID] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, patient_id: uuid.UUID) -> None:
        if patient_id in self.pending:
            return
        self.pending.add(patient_id)
        task = asyncio.get_running_loop().create_task(self._run(patient_id), name="flag-evaluation")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, patient_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self.delay)
        finally:
            # Leave the burst before evaluating, so that a write arriving during the evaluation schedules another.
            self.pending.discard(patient_id)
        await evaluate_in_background(self.maker, patient_id)

    async def drain(self, timeout: float = 30) -> None:
        """Waits for the scheduled evaluations (at shutdown, and in tests)."""
        if self.tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), timeout)
