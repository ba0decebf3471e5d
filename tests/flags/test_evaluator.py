"""The background evaluator: one worker per process, bursts in the order they began, and a bounded share of the
process while episodes are being written (backend/flags/evaluator.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from backend.flags import evaluator as module


class Evaluations(list[uuid.UUID]):
    """An evaluation that takes 50 ms and notes whom it was for (given to the worker, so that the app's own evaluator
    is untouched)."""

    async def __call__(self, maker: Any, patient_id: uuid.UUID) -> None:
        await asyncio.sleep(0.05)
        self.append(patient_id)


@pytest.fixture
def evaluations() -> Evaluations:
    return Evaluations()


def rests(monkeypatch: pytest.MonkeyPatch, worker: module.Evaluator) -> list[float]:
    asked: list[float] = []

    async def rest(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(worker, "_rest", rest)
    return asked


async def test_while_writes_are_busy_evaluation_rests_in_proportion_to_its_work(
    evaluations: Evaluations, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = module.Evaluator(None, 0, share=0.1, busy=lambda: True, evaluate=evaluations)  # type: ignore[arg-type]
    asked = rests(monkeypatch, worker)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for patient in (first, second, third):
        worker.schedule(patient)
    assert worker.task is not None
    await worker.task
    assert evaluations == [first, second, third]  # the oldest burst first
    # After each evaluation but the last, a rest of at least nine times its 50 ms: evaluation takes 10% at most.
    assert len(asked) == 2 and all(seconds >= 0.45 for seconds in asked)


async def test_when_writes_are_quiet_the_backlog_runs_without_resting(
    evaluations: Evaluations, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = module.Evaluator(None, 0, busy=lambda: False, evaluate=evaluations)  # type: ignore[arg-type]
    asked = rests(monkeypatch, worker)
    patients = [uuid.uuid4() for _ in range(4)]
    for patient in patients:
        worker.schedule(patient)
    assert worker.task is not None
    await worker.task
    assert evaluations == patients
    assert asked == []


async def test_drain_evaluates_everything_now_even_during_a_long_delay(evaluations: Evaluations) -> None:
    worker = module.Evaluator(None, 3600, busy=lambda: True, evaluate=evaluations)  # type: ignore[arg-type]
    patient = uuid.uuid4()
    worker.schedule(patient)
    worker.schedule(patient)  # the same burst
    await asyncio.sleep(0.01)
    assert evaluations == []  # waiting out the burst's delay
    await asyncio.wait_for(worker.drain(), 5)
    assert evaluations == [patient]
    worker.schedule(patient)  # a later write starts a new burst, with the delay again
    await asyncio.sleep(0.01)
    assert evaluations == [patient] and patient in worker.pending
    await worker.drain()
    assert evaluations == [patient, patient]


async def test_the_app_yields_to_its_writer(app: Any) -> None:
    """The app's evaluator asks the episode writer whether writes are under way."""
    evaluator, writer = app.state.evaluator, app.state.writer
    now = asyncio.get_running_loop().time()
    writer.recent.clear()
    writer.recent.append((now, 1))  # one write a moment ago: a trickle, not a stream
    assert evaluator.busy() is False
    writer.recent.extend((now, 16) for _ in range(3))  # 49 writes in the last second
    assert evaluator.busy() is True
    writer.recent.clear()
    writer.recent.extend((now - 5, 16) for _ in range(4))  # a stream, but seconds ago
    assert evaluator.busy() is False
