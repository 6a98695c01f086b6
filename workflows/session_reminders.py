"""A matchmaker's session reminders: which slots of its shard hold sessions that may still be
owed one, when the next is due, and the sending. One timer per shard, like the no-show sweep;
the workflow (`workflows/matchmaker.py`) sleeps to the earliest moment either wants."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.reminders import ReminderActivities
    from contracts.matchmaker import MatchmakerInput
    from contracts.reminders import SendRemindersInput
    from domain.reminders import ReminderKind, next_reminder_at, reminder_due
    from workflows.activity_calls import run_activity


class SessionReminders:
    """Per slot with sessions of this shard, the reminder last sent to all of them this run."""

    def __init__(self, input: MatchmakerInput) -> None:
        self._input = input
        self._sent: dict[datetime, ReminderKind | None] = {}

    def sessions_at(self, slot: datetime) -> None:
        """Sessions were made (or found) at `slot`: whatever it is owed now goes to them too."""
        self._sent[slot] = None

    def _owed(self, slot: datetime, now: datetime) -> ReminderKind | None:
        policy = self._input.policy
        return reminder_due(
            slot,
            now,
            timedelta(minutes=policy.remind_before_minutes),
            timedelta(minutes=policy.join_opens_minutes),
        )

    def moments(self, now: datetime) -> list[tuple[datetime, str]]:
        """When a reminder is next due, per slot: now, if one is owed and not sent."""
        policy = self._input.policy
        found = []
        for slot, sent in self._sent.items():
            owed = self._owed(slot, now)
            if owed is not None and owed != sent:
                found.append((now, "a reminder is owed: send it"))
                continue
            later = next_reminder_at(
                slot,
                now,
                timedelta(minutes=policy.remind_before_minutes),
                timedelta(minutes=policy.join_opens_minutes),
            )
            if later is not None:
                found.append((later, "a session reminder comes due: send it"))
        return found

    async def send_due(self, now: datetime) -> None:
        """Send every owed reminder, earliest slot first; forget the slots that have started."""
        input = self._input
        for slot in sorted(self._sent):
            if now >= slot:
                del self._sent[slot]
                continue
            owed = self._owed(slot, now)
            if owed is None or owed == self._sent[slot]:
                continue
            await run_activity(
                ReminderActivities.send_reminders,
                SendRemindersInput(slot, input.duration_minutes, input.languages, owed, now),
                f"send the {owed} reminder of the {slot:%H:%M} UTC sessions",
            )
            self._sent[slot] = owed
