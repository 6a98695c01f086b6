"""`/v1/match-requests`: list, read, cancel and reschedule your own requests (booking is in
`booking`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import HTTPException, Query, Response, status

from api import rate_limit, reads, receipts
from api.bounded import NoWorkerInTime, answer_by, within
from api.deps import ClockDep, CurrentUser, DbDep, IdempotencyKey, SettingsDep, TemporalDep
from api.errors import workflow_call
from api.local_times import in_utc
from api.openapi import RATE_LIMITED, accepted
from api.policy import booking_policy
from api.routes import booking
from api.schemas import MatchRequestPublic, MatchRequestReschedule
from api.tell import Receipt, answer_receipt
from contracts.naming import match_request_workflow_id
from contracts.requests import (
    CancelRequestedSignal,
    RescheduleRequestInput,
)
from contracts.statuses import RequestStatus
from db.models import MatchRequestRow
from domain.booking import validate_reschedule
from domain.errors import StateConflict
from observability.context import WORKFLOW_ID
from workflows.match_request import MatchRequestWorkflow

# The requests' router is booking's: its `POST` comes first, so that the OpenAPI document lists
# the calls in the order they are used.
router = booking.router
StatusFilter = Annotated[
    str | None,
    Query(
        alias="status",
        pattern="^(waiting|matched|cancelled|no_show|expired)$",
        description="Only requests in this status",
    ),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("", response_model=list[MatchRequestPublic], summary="Your requests")
async def list_match_requests(
    user: CurrentUser,
    db: DbDep,
    status_filter: StatusFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[MatchRequestRow]:
    """Your requests, newest slot first."""
    return list(await reads.requests_of(db, user, status_filter, limit, offset))


@router.get("/{request_id}", response_model=MatchRequestPublic, summary="One of your requests")
async def get_match_request(request_id: uuid.UUID, user: CurrentUser, db: DbDep) -> MatchRequestRow:
    """One of your requests; someone else's is a 404."""
    return await reads.request_of(db, user, request_id)


@router.post(
    "/{request_id}/cancel",
    response_model=MatchRequestPublic,
    summary="Cancel a waiting request",
    responses={
        409: {"description": "The request is no longer waiting"},
        **accepted(MatchRequestPublic, "The cancellation (no session can claim the request now)"),
    },
)
async def cancel_match_request(
    request_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MatchRequestRow:
    """Cancel while waiting; once matched, cancel the session instead. The cancel counts from
    the moment it reaches Parley: 200 with the cancelled request, or 202 with the recorded
    cancel if no worker carried it out within the bound."""
    received = await clock()
    row = await reads.request_of(db, user, request_id)
    if row.cancel_requested_at is None:
        _require_waiting(row, RequestStatus.CANCELLED)
        recorded = await receipts.record_request_cancel(db, request_id, user, received)
        if recorded is None:  # matched (or cancelled) meanwhile
            row = await reads.request_of(db, user, request_id)
            if row.cancel_requested_at is None:
                _require_waiting(row, RequestStatus.CANCELLED)
        else:
            row = recorded
    await reads.release(db)
    receipt = Receipt(
        RequestStatus.WAITING,
        row.cancel_requested_at,
        temporal.get_workflow_handle(match_request_workflow_id(str(request_id))),
        MatchRequestWorkflow.cancel_requested,
        CancelRequestedSignal,
    )
    return await answer_receipt(
        row, receipt, received, lambda: reads.request_now(db, user, request_id), settings, response
    )


@router.post(
    "/{request_id}/reschedule",
    response_model=MatchRequestPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Move a waiting request to another slot",
    responses={
        409: {"description": "The request is no longer waiting, or the slot overlaps"},
        **RATE_LIMITED,
    },
)
async def reschedule_match_request(
    request_id: uuid.UUID,
    body: MatchRequestReschedule,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> MatchRequestRow:
    """Cancel this request and create its replacement atomically; answers with the new one.

    If no worker does it within the bound, the answer is 503 and nothing changed; with the same
    `Idempotency-Key` a retry answers with the replacement made by an earlier try.
    """
    received = await clock()
    body = await in_utc(body, db, user)
    if idempotency_key is not None:
        existing = await reads.request_by_idempotency_key(db, user, idempotency_key)
        if existing is not None:
            if (
                existing.replaces_request_id != request_id
                or existing.availability_start != body.availability_start
                or existing.availability_end != (body.availability_end or body.availability_start)
            ):
                raise StateConflict("this Idempotency-Key was used for a different request")
            return existing
    row = await reads.request_of(db, user, request_id)
    _require_waiting(row, "rescheduled")
    validate_reschedule(
        body.availability_start,
        now=received,
        policy=booking_policy(settings),
        new_end=body.availability_end,
    )
    await rate_limit.take(db, user, booking.BOOKINGS, received, settings.rate_limit_per_minute)
    new_request_id = booking.new_request_id(user, idempotency_key)
    await reads.release(db)
    handle = temporal.get_workflow_handle(match_request_workflow_id(str(request_id)))
    WORKFLOW_ID.set(handle.id)
    deadline = answer_by(received, settings)
    try:
        await within(
            workflow_call(
                handle.execute_update(
                    MatchRequestWorkflow.reschedule,
                    RescheduleRequestInput(
                        user_id=user,
                        new_request_id=str(new_request_id),
                        new_availability_start=body.availability_start,
                        new_availability_end=body.availability_end,
                        answer_by=deadline,
                        idempotency_key=idempotency_key,
                    ),
                ),
                handle,
            ),
            settings,
        )
    except NoWorkerInTime:
        if await receipts.give_up_booking(db, user, new_request_id, deadline) is None:
            raise  # 503, and the reschedule will not happen for this call
    return await reads.request_of(db, user, new_request_id)


def _require_waiting(row: MatchRequestRow, verb: str) -> None:
    if row.status == RequestStatus.WAITING and row.cancel_requested_at is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"only a waiting request can be {verb}; this one is being cancelled",
        )
    if row.status != RequestStatus.WAITING:
        hint = "; cancel its session instead" if row.status == RequestStatus.MATCHED else ""
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"only a waiting request can be {verb}; this one is {row.status}{hint}",
        )
