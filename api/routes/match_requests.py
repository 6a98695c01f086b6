"""`/v1/match-requests`: book, list, read, cancel and reschedule your own requests."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api import rate_limit, reads, receipts
from api.bounded import NoWorkerInTime, answer_by, until_changed, within
from api.deps import ClockDep, CurrentUser, DbDep, IdempotencyKey, SettingsDep, TemporalDep
from api.errors import workflow_call
from api.openapi import RATE_LIMITED, accepted
from api.policy import booking_policy, workflow_policy
from api.schemas import MatchRequestCreate, MatchRequestOut, RescheduleBody
from api.strict_route import StrictRoute
from api.tell import tell, worth_telling
from contracts import search_attributes
from contracts.ids import match_request_workflow_id
from contracts.requests import (
    CancelRequestedSignal,
    CreatedInput,
    MatchRequestInput,
    RequestSpec,
    RescheduleRequestInput,
)
from contracts.statuses import RequestStatus
from db.models import MatchRequestRow
from domain.booking import RequestDraft, validate_request, validate_reschedule
from domain.errors import StateConflict
from observability.context import WORKFLOW_ID
from workflows.match_request import MatchRequestWorkflow

router = APIRouter(prefix="/v1/match-requests", tags=["match requests"], route_class=StrictRoute)

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c9a52-3f7e-4f0e-9a59-0d5b7f1e2a10")
# Creates and reschedules share one rate-limit budget per user.
BOOKINGS = "booking"
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


def _request_id(user: str, idempotency_key: str | None) -> uuid.UUID:
    """A new request's id: derived from the Idempotency-Key, so that a retry names the same one."""
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user}\n{idempotency_key}")


def _require_same_request(row: MatchRequestRow, body: MatchRequestCreate) -> None:
    """An Idempotency-Key answers for one request only."""
    same = (
        row.native_language_id == body.native_language_id
        and row.learning_language_id == body.learning_language_id
        and row.proficiency_level == body.proficiency_level
        and row.availability_start == body.availability_start
        and row.preferred_duration_minutes == body.preferred_duration_minutes
    )
    if not same:
        raise StateConflict("this Idempotency-Key was used for a different request")


@router.post(
    "",
    response_model=MatchRequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="Book a slot",
    responses={
        409: {"description": "Overlaps a request or session you already hold"},
        **RATE_LIMITED,
    },
)
async def create_match_request(
    body: MatchRequestCreate,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> MatchRequestRow:
    """Validate, then start the request's workflow and answer once its row is durable.

    If no worker books it within the bound, the answer is 503 and nothing is booked (the
    workflow refuses the booking if a worker only gets to it later); retry with the same
    `Idempotency-Key` and you can never end up with two requests.
    """
    received = await clock()
    if idempotency_key is not None:
        existing = await reads.request_by_idempotency_key(db, user, idempotency_key)
        if existing is not None:
            _require_same_request(existing, body)
            return existing
    validate_request(
        RequestDraft(
            native_language_id=body.native_language_id,
            learning_language_id=body.learning_language_id,
            proficiency_level=body.proficiency_level,
            availability_start=body.availability_start,
            availability_end=body.availability_end,
            preferred_duration_minutes=body.preferred_duration_minutes,
        ),
        now=received,
        policy=booking_policy(settings),
        known_languages=await reads.known_languages(db),
    )
    await rate_limit.take(db, user, BOOKINGS, received, settings.rate_limit_per_minute)
    request_id = _request_id(user, idempotency_key)
    spec = RequestSpec(
        request_id=str(request_id),
        user_id=user,
        native_language_id=body.native_language_id,
        learning_language_id=body.learning_language_id,
        proficiency_level=body.proficiency_level,
        slot_start=body.availability_start,
        duration_minutes=body.preferred_duration_minutes,
        idempotency_key=idempotency_key,
    )
    deadline = answer_by(received, settings)
    WORKFLOW_ID.set(match_request_workflow_id(spec.request_id))
    start = WithStartWorkflowOperation(
        MatchRequestWorkflow.run,
        MatchRequestInput(spec=spec, policy=workflow_policy(settings), answer_by=deadline),
        id=match_request_workflow_id(spec.request_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes.initial(
            search_attributes.MATCH_REQUEST, [user], spec.slot_start, RequestStatus.WAITING
        ),
        static_summary=f"Match request of {user}: {spec.native_language_id} -> "
        f"{spec.learning_language_id} at {spec.slot_start:%Y-%m-%d %H:%M} UTC",
    )
    await reads.release(db)
    try:
        await within(
            workflow_call(
                temporal.execute_update_with_start_workflow(
                    MatchRequestWorkflow.created,
                    CreatedInput(answer_by=deadline),
                    start_workflow_operation=start,
                )
            ),
            settings,
        )
    except NoWorkerInTime:
        if await receipts.give_up_booking(db, user, request_id, deadline) is None:
            raise  # 503, and the booking will not be made for this call
    created = await reads.request_of(db, user, request_id)
    if idempotency_key is not None:
        # A concurrent call with the same key but another body may have got there first.
        _require_same_request(created, body)
    return created


@router.get("", response_model=list[MatchRequestOut], summary="Your requests")
async def list_match_requests(
    user: CurrentUser,
    db: DbDep,
    status_filter: StatusFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[MatchRequestRow]:
    """Your requests, newest slot first."""
    return list(await reads.requests_of(db, user, status_filter, limit, offset))


@router.get("/{request_id}", response_model=MatchRequestOut, summary="One of your requests")
async def get_match_request(request_id: uuid.UUID, user: CurrentUser, db: DbDep) -> MatchRequestRow:
    """One of your requests; someone else's is a 404."""
    return await reads.request_of(db, user, request_id)


@router.post(
    "/{request_id}/cancel",
    response_model=MatchRequestOut,
    summary="Cancel a waiting request",
    responses={
        409: {"description": "The request is no longer waiting"},
        **accepted(MatchRequestOut, "The cancellation (no session can claim the request now)"),
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
    at = row.cancel_requested_at
    if row.status == RequestStatus.WAITING and at is not None and worth_telling(at, received):
        handle = temporal.get_workflow_handle(match_request_workflow_id(str(request_id)))
        signal = CancelRequestedSignal(at)
        bound = settings.workflow_call_timeout_seconds
        if await tell(handle, MatchRequestWorkflow.cancel_requested, signal, bound):
            row, _ = await until_changed(
                lambda: reads.request_now(db, user, request_id),
                lambda r: r.status != RequestStatus.WAITING,
                settings,
            )
    if row.status == RequestStatus.WAITING:
        response.status_code = status.HTTP_202_ACCEPTED
    return row


@router.post(
    "/{request_id}/reschedule",
    response_model=MatchRequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="Move a waiting request to another slot",
    responses={
        409: {"description": "The request is no longer waiting, or the slot overlaps"},
        **RATE_LIMITED,
    },
)
async def reschedule_match_request(
    request_id: uuid.UUID,
    body: RescheduleBody,
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
    if idempotency_key is not None:
        existing = await reads.request_by_idempotency_key(db, user, idempotency_key)
        if existing is not None:
            if existing.replaces_request_id != request_id or (
                existing.availability_start != body.availability_start
            ):
                raise StateConflict("this Idempotency-Key was used for a different request")
            return existing
    row = await reads.request_of(db, user, request_id)
    _require_waiting(row, "rescheduled")
    validate_reschedule(body.availability_start, now=received, policy=booking_policy(settings))
    await rate_limit.take(db, user, BOOKINGS, received, settings.rate_limit_per_minute)
    new_request_id = _request_id(user, idempotency_key)
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
                        new_slot_start=body.availability_start,
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
