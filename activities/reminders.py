"""Session reminders: one row per session and kind, whose insert emits `session.reminder` to
both participants (migration 0008); the primary key makes sending twice send once."""

from __future__ import annotations

from sqlalchemy import DateTime, Text, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.session_rows import at_shard_slot
from contracts.reminders import SendRemindersInput, SendRemindersResult
from contracts.statuses import SessionStatus
from db.models import SessionReminderRow, SessionRow


class ReminderActivities:
    """Writes reminders; a cancelled session is never reminded."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def send_reminders(self, input: SendRemindersInput) -> SendRemindersResult:
        """Each scheduled session of the shard's slot not yet sent this kind gets it, at once."""
        owed = select(
            SessionRow.id, literal(input.kind, Text), literal(input.at, DateTime(timezone=True))
        ).where(
            at_shard_slot(input.scheduled_start, input.duration_minutes, input.languages),
            SessionRow.status == SessionStatus.SCHEDULED,
        )
        async with self._sessionmaker.begin() as db:
            sent = await db.scalars(
                insert(SessionReminderRow)
                .from_select(["session_id", "kind", "sent_at"], owed)
                .on_conflict_do_nothing()
                .returning(SessionReminderRow.session_id)
            )
            return SendRemindersResult(sorted(str(session_id) for session_id in sent))
