"""A request workflow's first step in one activity: insert the row, then hand it to its matchmaker.

Both halves in one activity take a workflow task and an activity round trip off the path from a
booking to its match.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.base import StartingActivities
from activities.errors import refusal_from_database
from activities.pool_facts import with_user_facts
from activities.request_rows import pool_entry, row_result, row_values
from activities.workflow_starts import WorkflowStartActivities
from contracts.errors import ABANDONED, refusal
from contracts.matchmaker import AddRequestsSignal, EnqueueRequestsInput
from contracts.request_activities import BookInput, RequestRowResult
from contracts.requests import PoolEntry, RequestSpec
from contracts.statuses import RequestStatus
from db.booking_lock import lock_booking
from db.counterparts import has_counterpart, mark_told, parked_counterparts
from db.models import AbandonedBookingRow, MatchRequestRow
from domain.slots import days_touched
from observability.business import BusinessMetrics

# More parked requests than this (a thin market's one-sided backlog) are not carried in the
# signal: the matchmaker reads its pool from Postgres instead.
MAX_CARRIED = 100

# What a caller the API gave up on hears (Abandoned): it was answered 503.
NOT_BOOKED = "the API stopped waiting for this booking and said so; nothing was booked"
NOT_RESCHEDULED = "the API stopped waiting for this reschedule and said so; nothing changed"


def _days(entry: PoolEntry) -> list[datetime]:
    assert entry.availability_start is not None, "entries made here are always placed"
    return days_touched(entry.availability_start, entry.last_start)


async def insert_request(
    db: AsyncSession, spec: RequestSpec, created_at: datetime, max_live_requests: int
) -> bool:
    """Insert the request under its owner's live-request cap; whether this inserted it."""
    # The cap lives in a trigger; it reads the limit from this transaction's settings.
    await db.execute(
        select(func.set_config("parley.max_live_requests", str(max_live_requests), True))
    )
    inserted = await db.scalar(
        insert(MatchRequestRow)
        .values(**row_values(spec, created_at))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(MatchRequestRow.id)
    )
    return inserted is not None


async def _given_up(db: AsyncSession, request_id: uuid.UUID, answer_by: datetime) -> bool:
    """Whether the API gave up on this request for the caller waiting until `answer_by` (a
    later caller, a retry with the same key, may still be waiting)."""
    abandoned = await db.get(AbandonedBookingRow, request_id)
    return abandoned is not None and abandoned.answer_by >= answer_by


async def existing_unless_abandoned(
    db: AsyncSession, request_id: uuid.UUID, answer_by: datetime | None, refused: str
) -> MatchRequestRow | None:
    """The request's row if it exists. One not yet made that the API has given up on for the
    caller waiting until `answer_by` (it answered 503) is refused (Abandoned): under the
    request's booking lock, so the API's tombstone and this write cannot cross."""
    if answer_by is None:
        return await db.get(MatchRequestRow, request_id)
    await lock_booking(db, request_id)
    existing = await db.get(MatchRequestRow, request_id)
    if existing is None and await _given_up(db, request_id, answer_by):
        raise refusal(ABANDONED, refused)
    return existing


class BookingActivities(StartingActivities):
    """Inserts a request and signals its matchmaker; both are safe to retry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        starts: WorkflowStartActivities,
        metrics: BusinessMetrics | None = None,
        max_live_requests: int = 20,
        max_carried: int = MAX_CARRIED,
    ) -> None:
        super().__init__(sessionmaker, starts, metrics)
        self._max_live_requests = max_live_requests
        self._max_carried = max_carried

    @activity.defn
    async def book_request(self, input: BookInput) -> RequestRowResult:
        """Insert the row (or find it); if it is waiting, signal-with-start its matchmaker unless
        it parks (`hand_to_matchmakers`). A row not yet made when every caller has stopped
        waiting is not made (Abandoned)."""
        row = await self.create_match_request(input)
        activity.logger.info(
            "request %s of %s for %s is %s",
            row.request_id,
            input.spec.user_id,
            input.spec.availability_start.isoformat(),
            row.status,
        )
        if row.status == RequestStatus.WAITING:
            await self.hand_to_matchmakers(input)
        return row

    async def hand_to_matchmakers(self, input: BookInput) -> None:
        """Tell the matchmakers of the request's days of it, with the parked requests it could
        pair with; if it could pair with nobody yet, park it instead (tell no one)."""
        spec, now, policy = input.spec, input.created_at, input.policy
        steps = 2 if policy.widen_levels_minutes > 0 else 1
        async with self._sessionmaker() as db:
            parked = await parked_counterparts(db, spec, now, steps)
            if not parked and not await has_counterpart(
                db, spec, now, steps, timedelta(minutes=policy.join_opens_minutes)
            ):
                activity.logger.info("request %s parked: no possible partner yet", spec.request_id)
                return
            carried = parked[: self._max_carried]
            entries = await with_user_facts(
                db,
                [PoolEntry.of(spec, created_at=now)] + [pool_entry(row) for row in carried],
                now,
            )
        reload = len(parked) > len(carried)
        # Told to every day's matchmaker its window touches (at most two): each pairs at its own
        # day's slots, so no pair across midnight is lost. A carried request goes to each of its
        # own days too, so that marking it told below is true of every shard it belongs to.
        for day in sorted({day for entry in entries for day in _days(entry)}):
            await self._starts.enqueue_requests(
                EnqueueRequestsInput(
                    day=day,
                    duration_minutes=spec.preferred_duration_minutes,
                    policy=policy,
                    signal=AddRequestsSignal(
                        entries=[entry for entry in entries if day in _days(entry)],
                        reload=reload,
                    ),
                )
            )
        # After the signals: a crash before this line sends them again, which the matchmaker
        # ignores; marking first could lose a request that no signal carried.
        told = [uuid.UUID(spec.request_id)] + [row.id for row in parked]
        async with self._sessionmaker.begin() as db:
            await mark_told(db, told, now)

    async def create_match_request(self, input: BookInput) -> RequestRowResult:
        """Insert the request unless it exists; overlapping bookings and one past the owner's
        live-request cap are refused by the database. A booking the API has given up on for
        this caller (`answer_by`; it answered 503) is refused (Abandoned) instead."""
        request_id = uuid.UUID(input.spec.request_id)
        try:
            async with self._sessionmaker.begin() as db:
                existing = await existing_unless_abandoned(
                    db, request_id, input.answer_by, NOT_BOOKED
                )
                inserted = existing is None and await insert_request(
                    db, input.spec, input.created_at, self._max_live_requests
                )
                if existing is None:
                    existing = await db.get(MatchRequestRow, request_id)
                assert existing is not None
                result = row_result(existing)
        except (IntegrityError, InternalError) as error:
            raise refusal_from_database(error) from None
        if inserted:  # committed, and by this call: a retry finds the row and counts nothing
            self._metrics.booked(input.spec.priority)
        return result
