"""Activities that move a session forward: activate it, complete it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.session_rows import session_facts
from contracts.sessions import (
    SessionChangeInput,
    SessionRowResult,
)
from contracts.statuses import SessionStatus
from db.models import SessionRow
from observability.business import NO_METRICS, BusinessMetrics


class SessionActivities:
    """Session writes; each is safe to retry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: BusinessMetrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._metrics = metrics or NO_METRICS

    @activity.defn
    async def activate_session(self, input: SessionChangeInput) -> SessionRowResult:
        """scheduled -> active once both have joined and nobody asked to cancel; `actual_start` is
        when the second of them was there (the start at the earliest), however late this runs. A
        retry finds it active and changes nothing; a recorded cancel leaves it scheduled."""
        async with self._sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id),
                    SessionRow.status == SessionStatus.SCHEDULED,
                    SessionRow.cancel_requested_by.is_(None),
                    SessionRow.participant_one_joined_at.is_not(None),
                    SessionRow.participant_two_joined_at.is_not(None),
                )
                .values(
                    status=SessionStatus.ACTIVE,
                    actual_start=func.greatest(
                        SessionRow.scheduled_start,
                        SessionRow.participant_one_joined_at,
                        SessionRow.participant_two_joined_at,
                    ),
                    updated_at=input.at,
                )
            )
            return await session_facts(db, input.session_id)

    @activity.defn
    async def complete_session(self, input: SessionChangeInput) -> SessionRowResult:
        """active -> completed: at the end asked for (when that reached Parley), else at `at`."""
        async with self._sessionmaker.begin() as db:
            changed = await db.scalar(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id),
                    SessionRow.status == SessionStatus.ACTIVE,
                )
                .values(
                    status=SessionStatus.COMPLETED,
                    actual_end=func.coalesce(SessionRow.end_requested_at, input.at),
                    ended_by=SessionRow.end_requested_by,
                    updated_at=input.at,
                )
                .returning(SessionRow.id)
            )
            facts = await session_facts(db, input.session_id)
        if changed is not None:
            self._metrics.session_ended(SessionStatus.COMPLETED)
        return facts
