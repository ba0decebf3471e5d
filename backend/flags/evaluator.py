"""Runs the full rule set shortly after a patient's writes, once per burst, without slowing the writes down.

A phone coming back online may upload hundreds of entries in a few seconds; evaluating after each would repeat the
same work hundreds of times. Writes schedule an evaluation for their patient; while one is waiting, further writes
join it. If the process stops first, the periodic sweep catches up, so nothing depends on this task surviving.

Each write has already been screened for the urgent rules (and checked by them where needed) before its answer, so
what waits here is the slower, routine part. One worker per
process takes the patients in the order their bursts began. While the process is busy writing (``busy()``), evaluation
gets at most ``share`` of its time: when thousands of phones upload at the same morning hour, logging stays fast and
the flags follow a little later (routine and soon flags are for follow-up within days; the sweep is the backstop).
When the writes calm down, the backlog is evaluated at full speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.flags.services import AfterEvaluation, evaluate_in_background


class Evaluator:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        delay_seconds: float,
        *,
        share: float = 0.1,
        busy: Callable[[], bool] = lambda: False,
        evaluate: Callable[[async_sessionmaker[AsyncSession], uuid.UUID], Awaitable[None]] | None = None,
        then: AfterEvaluation | None = None,
    ) -> None:
        """``then`` follows each patient's evaluation (the app plans their reminders)."""
        self.maker = maker
        self.evaluate = evaluate if evaluate is not None else functools.partial(evaluate_in_background, then=then)
        self.delay = delay_seconds
        self.share = share
        self.busy = busy
        self.pending: dict[uuid.UUID, float] = {}  # patient -> when their burst's evaluation is due (loop time)
        self.task: asyncio.Task[None] | None = None
        self.hurry = False
        self.wake = asyncio.Event()
        self.evaluated = 0

    def schedule(self, patient_id: uuid.UUID) -> None:
        if patient_id in self.pending:
            return
        loop = asyncio.get_running_loop()
        self.pending[patient_id] = loop.time() + self.delay
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._work(), name="flag-evaluation")

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            patient_id, due = next(iter(self.pending.items()))  # the oldest burst first
            if not self.hurry and (wait := due - loop.time()) > 0:
                await self._rest(wait)
            # Leave the burst before evaluating, so that a write arriving during the evaluation schedules another.
            del self.pending[patient_id]
            started = loop.time()
            await self.evaluate(self.maker, patient_id)
            self.evaluated += 1
            if not self.hurry and self.pending and self.busy():
                # Rest in proportion to the work just done: evaluation gets at most `share` of the process.
                await self._rest((loop.time() - started) * (1 - self.share) / self.share)

    async def _rest(self, seconds: float) -> None:
        """Sleeps, unless drain() asks for everything now."""
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)

    async def drain(self, timeout: float = 30) -> None:
        """Evaluates everything scheduled without waiting out the delays (at shutdown, and in tests)."""
        self.hurry = True
        self.wake.set()
        try:
            if self.task is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.task), timeout)
        finally:
            self.hurry = False
