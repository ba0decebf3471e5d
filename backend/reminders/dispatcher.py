"""The dispatcher inside every app process: plans reminders, claims the due ones and delivers them.

Any number of processes run one each. Claims are atomic (queue.claim), so a reminder is delivered by one of them;
a failed delivery is retried with backoff; every attempt is logged in delivery_attempts without the reminder's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.accounts.models import User
from backend.config import Settings
from backend.diary.models import PatientProfile
from backend.diary.records import zone_of
from backend.reminders import delivery, endpoints, queue
from backend.reminders.models import DeliveryAttempt, Reminder, ReminderPreferences
from backend.shared.i18n import N_, translate

log = logging.getLogger("spasm.reminders")
PLAN_EVERY = dt.timedelta(minutes=10)
DOSE_ACTIONS = (("taken", N_("Taken")), ("skipped", N_("Skipped")), ("later", N_("Remind me later")))


class Dispatcher:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        name: str | None = None,
        resolver: endpoints.Resolver = endpoints.system_resolver,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.resolver = resolver
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.task: asyncio.Task[None] | None = None
        self.planned_at: dt.datetime | None = None

    async def start(self) -> None:
        if self.settings.reminder_seconds > 0 and self.task is None:
            self.task = asyncio.create_task(self._loop(), name="reminders")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once(dt.datetime.now(dt.UTC))
            except Exception:
                log.exception("reminder round failed; trying again next time")
            await asyncio.sleep(self.settings.reminder_seconds)

    async def plan_everyone(self, now: dt.datetime) -> int:
        async with self.maker() as db:
            patients = list((await db.execute(select(User.id).where(User.role == "patient"))).scalars())
        added = 0
        for patient_id in patients:
            async with self.maker() as db:
                added += await queue.plan_patient(db, patient_id, now)
        return added

    async def run_once(self, now: dt.datetime) -> int:
        """One round: plan (every 10 minutes), then deliver what is due. Returns how many were delivered."""
        if self.planned_at is None or now - self.planned_at >= PLAN_EVERY:
            await self.plan_everyone(now)
            self.planned_at = now
        delivered = 0
        while True:
            async with self.maker() as db:
                claimed = await queue.claim(db, now, self.name)
            if not claimed:
                return delivered
            for reminder in claimed:
                delivered += await self.deliver(reminder, now)

    async def _still_mine(self, reminder: Reminder, now: dt.datetime) -> bool:
        """Renews this dispatcher's lease right before sending; if another dispatcher took the reminder over (this one
        was slower than its lease), it is theirs to send."""
        async with self.maker() as db:
            result: Any = await db.execute(
                update(Reminder)
                .where(
                    Reminder.patient_id == reminder.patient_id,
                    Reminder.id == reminder.id,
                    Reminder.status == "claimed",
                    Reminder.claimed_by == self.name,
                )
                .values(claimed_until=now + queue.LEASE)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
            return bool(result.rowcount)

    async def deliver(self, reminder: Reminder, now: dt.datetime) -> int:
        if not await self._still_mine(reminder, now):
            return 0
        async with self.maker() as db:
            profile = await db.get(PatientProfile, reminder.patient_id)
            user = await db.get(User, reminder.patient_id)
            if profile is None or user is None:
                return 0
            zone = zone_of(profile)
            if not await queue.still_needed(db, reminder, zone):
                await self._finish(db, reminder, queue.finish_values(False, reminder.attempts, now, skipped=True))
                return 0
            payload: dict[str, Any] = {
                "title": reminder.title,
                "body": reminder.body,
                "url": reminder.link or "/reminders",
                "tag": reminder.key,
            }
            if reminder.kind == "medicine":
                # Answered from the notification itself (sw.js): the dose is recorded as from the inbox.
                words = {a: translate(profile.language, label) for a, label in DOSE_ACTIONS}
                payload["reminder"] = str(reminder.id)
                payload["actions"] = [{"action": a, "title": words[a]} for a, _label in DOSE_ACTIONS]
            outcomes = await delivery.push(db, self.settings, reminder.patient_id, payload, self.resolver)
            prefs = await db.get(ReminderPreferences, reminder.patient_id)
            if prefs is not None and prefs.email:
                mailed = await delivery.email(self.settings, user.email, reminder.title, profile.language)
                if mailed is not None:
                    outcomes.append(mailed)
            for outcome in outcomes:
                db.add(
                    DeliveryAttempt(
                        patient_id=reminder.patient_id,
                        reminder_id=reminder.id,
                        channel=outcome.channel,
                        at=now,
                        outcome="delivered" if outcome.ok else ("gone" if outcome.gone else "failed"),
                        detail=outcome.detail,
                        dispatcher=self.name,
                    )
                )
            # The inbox always has it; push and e-mail are retried while none got through and one may still (a
            # subscription the push service forgot is gone for good, not a way through).
            retry = not any(o.ok for o in outcomes) and any(not o.ok and not o.gone for o in outcomes)
            if not outcomes:
                db.add(
                    DeliveryAttempt(
                        patient_id=reminder.patient_id,
                        reminder_id=reminder.id,
                        channel="inbox",
                        at=now,
                        outcome="delivered",
                        detail=None,
                        dispatcher=self.name,
                    )
                )
            await self._finish(db, reminder, queue.finish_values(not retry, reminder.attempts, now))
            log.info(
                "reminder %s delivered by %s: %s",
                reminder.id,
                self.name,
                ", ".join(f"{o.channel} {'ok' if o.ok else o.detail}" for o in outcomes) or "inbox",
            )
            return 0 if retry else 1

    async def _finish(self, db: AsyncSession, reminder: Reminder, values: dict[str, object]) -> None:
        # Only the holder of the claim may finish it: a dispatcher whose lease ran out must not overwrite the new one.
        await db.execute(
            update(Reminder)
            .where(
                Reminder.patient_id == reminder.patient_id,
                Reminder.id == reminder.id,
                Reminder.claimed_by == self.name,
                Reminder.status == "claimed",
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await db.commit()
