"""Activities that write match requests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from temporalio import activity
from temporalio.common import MetricMeter

from activities.errors import refusal_from_database
from contracts.errors import ABANDONED, NOT_FOUND, STATE_CONFLICT, refusal
from contracts.matchmaker import (
    LoadWaitingInput,
    LoadWaitingResult,
    SeatedEntry,
    StillWaitingInput,
    StillWaitingResult,
)
from contracts.requests import (
    CloseRequestInput,
    CreateMatchRequestInput,
    PoolEntry,
    RequestRowResult,
    RequestSpec,
    RescheduleMatchRequestInput,
)
from contracts.statuses import RequestStatus, SessionStatus
from db.booking_lock import lock_booking
from db.models import AbandonedBookingRow, MatchRequestRow, SessionRow
from observability.business import BusinessMetrics


def _row_values(spec: RequestSpec, created_at: datetime) -> dict[str, object]:
    return {
        "id": uuid.UUID(spec.request_id),
        "user_id": spec.user_id,
        "native_language_id": spec.native_language_id,
        "learning_language_id": spec.learning_language_id,
        "proficiency_level": spec.proficiency_level,
        "availability_start": spec.slot_start,
        "availability_end": spec.slot_start,
        "preferred_duration_minutes": spec.duration_minutes,
        "priority": spec.priority,
        "status": RequestStatus.WAITING,
        "idempotency_key": spec.idempotency_key,
        "replaces_request_id": uuid.UUID(spec.replaces_request_id)
        if spec.replaces_request_id
        else None,
        "origin_session_id": uuid.UUID(spec.origin_session_id) if spec.origin_session_id else None,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _result(row: MatchRequestRow) -> RequestRowResult:
    return RequestRowResult(
        request_id=str(row.id),
        status=row.status,
        session_id=str(row.session_id) if row.session_id else None,
    )


async def _insert_request(db: AsyncSession, spec: RequestSpec, created_at: datetime) -> bool:
    inserted = await db.scalar(
        insert(MatchRequestRow)
        .values(**_row_values(spec, created_at))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(MatchRequestRow.id)
    )
    return inserted is not None


async def _given_up(db: AsyncSession, request_id: uuid.UUID, answer_by: datetime | None) -> bool:
    """Whether the API gave up on this request for the caller waiting until `answer_by` (a
    later caller, a retry with the same key, may still be waiting)."""
    if answer_by is None:
        return False
    abandoned = await db.get(AbandonedBookingRow, request_id)
    return abandoned is not None and abandoned.answer_by >= answer_by


def request_spec(row: MatchRequestRow) -> RequestSpec:
    """The request a row holds, as workflows take it."""
    return RequestSpec(
        request_id=str(row.id),
        user_id=row.user_id,
        native_language_id=row.native_language_id,
        learning_language_id=row.learning_language_id,
        proficiency_level=row.proficiency_level,
        slot_start=row.availability_start,
        duration_minutes=row.preferred_duration_minutes,
        priority=row.priority,
        replaces_request_id=str(row.replaces_request_id) if row.replaces_request_id else None,
        origin_session_id=str(row.origin_session_id) if row.origin_session_id else None,
    )


def _pool_entry(row: MatchRequestRow) -> PoolEntry:
    return PoolEntry(
        request_id=str(row.id),
        user_id=row.user_id,
        native_language_id=row.native_language_id,
        learning_language_id=row.learning_language_id,
        proficiency_level=row.proficiency_level,
        priority=row.priority,
        waiting_since=row.created_at,
    )


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
        SeatedEntry(str(session_id), _pool_entry(first), _pool_entry(second))
        for session_id, first, second in rows
    ]


class RequestActivities:
    """Match-request writes; each is safe to retry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        max_live_requests: int = 20,
        metrics: BusinessMetrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._max_live_requests = max_live_requests
        self._metrics = metrics or BusinessMetrics(MetricMeter.noop)

    @activity.defn
    async def create_match_request(self, input: CreateMatchRequestInput) -> RequestRowResult:
        """Insert the request unless it exists; overlapping bookings and one past the owner's
        live-request cap are refused by the database. A booking the API has given up on for
        this caller (`answer_by`; it answered 503) is refused (Abandoned) instead."""
        request_id = uuid.UUID(input.spec.request_id)
        try:
            async with self._sessionmaker.begin() as db:
                if input.answer_by is not None:
                    await lock_booking(db, request_id)
                existing = await db.get(MatchRequestRow, request_id)
                if existing is None and await _given_up(db, request_id, input.answer_by):
                    raise refusal(
                        ABANDONED,
                        "the API stopped waiting for this booking and said so; nothing was booked",
                    )
                inserted = existing is None and await self._insert(db, input.spec, input.created_at)
                if existing is None:
                    existing = await db.get(MatchRequestRow, request_id)
                assert existing is not None
                result = _result(existing)
        except (IntegrityError, InternalError) as error:
            raise refusal_from_database(error) from None
        if inserted:  # committed, and by this call: a retry finds the row and counts nothing
            self._metrics.booked(input.spec.priority)
        return result

    @activity.defn
    async def cancel_match_request(self, input: CloseRequestInput) -> RequestRowResult:
        """Cancel the request if it is still waiting; report its status either way."""
        return await self._close_waiting(input, RequestStatus.CANCELLED)

    @activity.defn
    async def expire_match_request(self, input: CloseRequestInput) -> RequestRowResult:
        """Expire the request if it is still waiting when its slot starts."""
        return await self._close_waiting(input, RequestStatus.EXPIRED)

    @activity.defn
    async def reschedule_match_request(
        self, input: RescheduleMatchRequestInput
    ) -> RequestRowResult:
        """Cancel the old waiting request and insert the new one, or neither."""
        old_id = uuid.UUID(input.old_request_id)
        new_id = uuid.UUID(input.new_spec.request_id)
        try:
            async with self._sessionmaker.begin() as db:
                if input.answer_by is not None:
                    await lock_booking(db, new_id)
                already = await db.get(MatchRequestRow, new_id)
                if already is not None:
                    return _result(already)
                if await _given_up(db, new_id, input.answer_by):
                    raise refusal(
                        ABANDONED,
                        "the API stopped waiting for this reschedule and said so; nothing changed",
                    )
                closed = await db.execute(
                    update(MatchRequestRow)
                    .where(
                        MatchRequestRow.id == old_id,
                        MatchRequestRow.status == RequestStatus.WAITING,
                        MatchRequestRow.cancel_requested_at.is_(None),
                    )
                    .values(
                        status=RequestStatus.CANCELLED,
                        status_reason=f"rescheduled to {input.new_spec.request_id}",
                        updated_at=input.at,
                    )
                    .returning(MatchRequestRow.id)
                )
                if closed.first() is None:
                    current = await db.scalar(
                        select(MatchRequestRow.status).where(MatchRequestRow.id == old_id)
                    )
                    raise refusal(
                        STATE_CONFLICT,
                        f"only a waiting request can be rescheduled; it is {current}"
                        + (" (being cancelled)" if current == RequestStatus.WAITING else ""),
                    )
                await self._insert(db, input.new_spec, input.at)
                created = await db.get(MatchRequestRow, new_id)
                assert created is not None
                result = _result(created)
        except (IntegrityError, InternalError) as error:
            raise refusal_from_database(error) from None
        self._metrics.outcome("rescheduled")
        self._metrics.booked(input.new_spec.priority)
        return result

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
            result = LoadWaitingResult(entries=[_pool_entry(row) for row in rows])
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

    async def _insert(self, db: AsyncSession, spec: RequestSpec, created_at: datetime) -> bool:
        """Insert the request under its owner's live-request cap; whether this inserted it."""
        # The cap lives in a trigger; it reads the limit from this transaction's settings.
        await db.execute(
            select(func.set_config("parley.max_live_requests", str(self._max_live_requests), True))
        )
        return await _insert_request(db, spec, created_at)

    async def _close_waiting(self, input: CloseRequestInput, status: str) -> RequestRowResult:
        request_id = uuid.UUID(input.request_id)
        # An owner's cancel that reached Parley before the slot started wins over expiry.
        asked = MatchRequestRow.cancel_requested_at.is_not(None)
        async with self._sessionmaker.begin() as db:
            changed = await db.scalar(
                update(MatchRequestRow)
                .where(
                    MatchRequestRow.id == request_id,
                    MatchRequestRow.status == RequestStatus.WAITING,
                )
                .values(
                    status=case((asked, RequestStatus.CANCELLED), else_=status),
                    status_reason=case((asked, "cancelled by user"), else_=input.reason),
                    updated_at=input.at,
                )
                .returning(MatchRequestRow.status)
            )
            row = await db.get(MatchRequestRow, request_id, populate_existing=True)
            if row is None:
                raise refusal(NOT_FOUND, f"match request {input.request_id} does not exist")
            result = _result(row)
        if changed is not None:
            self._metrics.outcome(changed)
        return result
