"""What a matchmaker reads of its shard: the waiting requests, and sessions still open to swaps."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from temporalio import activity

from activities.request_rows import pool_entry
from contracts.matchmaker import (
    LoadWaitingInput,
    LoadWaitingResult,
    SeatedEntry,
    StillWaitingInput,
    StillWaitingResult,
)
from contracts.statuses import RequestStatus, SessionStatus
from db.models import MatchRequestRow, SessionRow


async def _seated(db: AsyncSession, input: LoadWaitingInput) -> list[SeatedEntry]:
    """The shard's sessions nobody has joined, with both of their requests."""
    one, two = aliased(MatchRequestRow), aliased(MatchRequestRow)
    rows = await db.execute(
        select(SessionRow.id, one, two)
        .join(one, one.id == SessionRow.match_request_one_id)
        .join(two, two.id == SessionRow.match_request_two_id)
        .where(
            SessionRow.status == SessionStatus.SCHEDULED,
            SessionRow.scheduled_start == input.slot_start,
            SessionRow.duration_minutes == input.duration_minutes,
            SessionRow.language_one_id.in_(input.languages),
            SessionRow.language_two_id.in_(input.languages),
            SessionRow.participant_one_joined_at.is_(None),
            SessionRow.participant_two_joined_at.is_(None),
            SessionRow.cancel_requested_by.is_(None),
        )
        .order_by(SessionRow.created_at, SessionRow.id)
    )
    return [
        SeatedEntry(str(session_id), pool_entry(first), pool_entry(second))
        for session_id, first, second in rows
    ]


class PoolActivities:
    """Reads of a matchmaker's shard; nothing here writes."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def load_waiting_requests(self, input: LoadWaitingInput) -> LoadWaitingResult:
        """The database's view of a shard: the matchmaker's source of truth for each run."""
        one, two = input.languages
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(MatchRequestRow)
                .where(
                    MatchRequestRow.status == RequestStatus.WAITING,
                    MatchRequestRow.cancel_requested_at.is_(None),
                    MatchRequestRow.availability_start == input.slot_start,
                    MatchRequestRow.preferred_duration_minutes == input.duration_minutes,
                    MatchRequestRow.native_language_id.in_((one, two)),
                    MatchRequestRow.learning_language_id.in_((one, two)),
                )
                .order_by(MatchRequestRow.created_at, MatchRequestRow.id)
            )
            result = LoadWaitingResult(entries=[pool_entry(row) for row in rows])
            if input.with_seated:
                result.seated = await _seated(db, input)
            return result

    @activity.defn
    async def still_waiting(self, input: StillWaitingInput) -> StillWaitingResult:
        """Which of the given requests are still waiting, in the order asked."""
        async with self._sessionmaker() as db:
            waiting = set(
                await db.scalars(
                    select(MatchRequestRow.id).where(
                        MatchRequestRow.id.in_([uuid.UUID(r) for r in input.request_ids]),
                        MatchRequestRow.status == RequestStatus.WAITING,
                        MatchRequestRow.cancel_requested_at.is_(None),
                    )
                )
            )
        return StillWaitingResult([r for r in input.request_ids if uuid.UUID(r) in waiting])
