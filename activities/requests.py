"""Activities that change a waiting request: cancel, expire, reschedule."""

from __future__ import annotations

import uuid

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.booking import NOT_RESCHEDULED, existing_unless_abandoned, insert_request
from activities.errors import refusal_from_database
from activities.request_rows import row_result
from contracts.errors import NOT_FOUND, STATE_CONFLICT, refusal
from contracts.request_activities import (
    CloseRequestInput,
    RequestRowResult,
    RescheduleMatchRequestInput,
)
from contracts.statuses import RequestStatus
from db.models import MatchRequestRow
from observability.business import NO_METRICS, BusinessMetrics


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
        self._metrics = metrics or NO_METRICS

    @activity.defn
    async def cancel_match_request(self, input: CloseRequestInput) -> RequestRowResult:
        """Cancel the request if it is still waiting; report its status either way."""
        return await self._close_waiting(input, RequestStatus.CANCELLED)

    @activity.defn
    async def expire_match_request(self, input: CloseRequestInput) -> RequestRowResult:
        """Expire the request if it is still waiting when its window's last slot starts."""
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
                already = await existing_unless_abandoned(
                    db, new_id, input.answer_by, NOT_RESCHEDULED
                )
                if already is not None:
                    return row_result(already)
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
                await insert_request(db, input.new_spec, input.at, self._max_live_requests)
                created = await db.get(MatchRequestRow, new_id)
                assert created is not None
                result = row_result(created)
        except (IntegrityError, InternalError) as error:
            raise refusal_from_database(error) from None
        self._metrics.outcome("rescheduled")
        self._metrics.booked(input.new_spec.priority)
        return result

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
            result = row_result(row)
        if changed is not None:
            self._metrics.outcome(changed)
        return result
