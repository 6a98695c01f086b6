"""What a matchmaker reads of its shard: the waiting requests, and sessions still open to swaps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from temporalio import activity

from activities.pool_facts import with_user_facts
from activities.request_rows import pool_entry
from contracts.matchmaker import (
    LoadWaitingInput,
    LoadWaitingResult,
    SeatedEntry,
    StillWaitingInput,
    StillWaitingResult,
)
from contracts.statuses import RequestStatus, SessionStatus
from db.counterparts import open_to_swaps
from db.models import MatchRequestRow, SessionRow


def _in_shard(input: LoadWaitingInput) -> list[ColumnElement[bool]]:
    """The shard's sessions: its day's slots, its duration and its languages."""
    return [
        SessionRow.scheduled_start >= input.day,
        SessionRow.scheduled_start < input.day + timedelta(days=1),
        SessionRow.duration_minutes == input.duration_minutes,
        SessionRow.language_one_id.in_(input.languages),
        SessionRow.language_two_id.in_(input.languages),
    ]


async def _seated(db: AsyncSession, input: LoadWaitingInput) -> list[SeatedEntry]:
    """The shard's sessions nobody may join yet, with both of their requests."""
    one, two = aliased(MatchRequestRow), aliased(MatchRequestRow)
    join_opens = timedelta(minutes=input.policy.join_opens_minutes)
    rows = await db.execute(
        select(SessionRow.id, SessionRow.scheduled_start, one, two)
        .join(one, one.id == SessionRow.match_request_one_id)
        .join(two, two.id == SessionRow.match_request_two_id)
        .where(
            *_in_shard(input),
            *open_to_swaps(input.now, join_opens),
            SessionRow.language_one_id.in_(input.languages),
            SessionRow.language_two_id.in_(input.languages),
        )
        .order_by(SessionRow.created_at, SessionRow.id)
    )
    return [
        SeatedEntry(str(session_id), pool_entry(first), pool_entry(second), start)
        for session_id, start, first, second in rows
    ]


async def _sweeps_due(db: AsyncSession, input: LoadWaitingInput) -> list[datetime]:
    """The slots of the shard holding scheduled sessions whose no-show deadline is ahead."""
    policy = input.policy
    deadline = timedelta(seconds=policy.no_show_grace_seconds + policy.receipt_skew_seconds)
    starts = await db.scalars(
        select(SessionRow.scheduled_start)
        .where(
            *_in_shard(input),
            SessionRow.status == SessionStatus.SCHEDULED,
            SessionRow.scheduled_start > input.now - deadline,
        )
        .distinct()
        .order_by(SessionRow.scheduled_start)
    )
    return list(starts)


class PoolActivities:
    """Reads of a matchmaker's shard; nothing here writes."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def load_waiting_requests(self, input: LoadWaitingInput) -> LoadWaitingResult:
        """The database's view of a shard: the matchmaker's source of truth for each run."""
        one, two = input.languages
        day_end = input.day + timedelta(days=1)
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(MatchRequestRow)
                .where(
                    MatchRequestRow.status == RequestStatus.WAITING,
                    MatchRequestRow.cancel_requested_at.is_(None),
                    # Windows that hold a slot start of the day still ahead (a window is at
                    # most a day long, which bounds the index scan).
                    MatchRequestRow.availability_start < day_end,
                    MatchRequestRow.availability_start > input.day - timedelta(days=1),
                    MatchRequestRow.availability_end >= input.day,
                    MatchRequestRow.availability_end > input.now,
                    MatchRequestRow.preferred_duration_minutes == input.duration_minutes,
                    MatchRequestRow.native_language_id.in_((one, two)),
                    MatchRequestRow.learning_language_id.in_((one, two)),
                )
                .order_by(MatchRequestRow.created_at, MatchRequestRow.id)
            )
            entries = await with_user_facts(db, [pool_entry(row) for row in rows], input.now)
            return LoadWaitingResult(
                entries=entries,
                seated=await _seated(db, input),
                sweeps_due=await _sweeps_due(db, input),
            )

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
