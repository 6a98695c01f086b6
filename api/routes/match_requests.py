"""`/v1/match-requests`: book, list, read, cancel and reschedule your own requests."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api import reads
from api.deps import ClockDep, CurrentUser, DbDep, SettingsDep, TemporalDep
from api.errors import UPDATE_TIMEOUT, workflow_call
from api.openapi import RATE_LIMITED, accepted
from api.policy import booking_policy, workflow_policy
from api.schemas import MatchRequestCreate, MatchRequestOut, RescheduleBody
from api.strict_route import StrictRoute
from db.models import MatchRequestRow
from domain.booking import RequestDraft, validate_request, validate_reschedule
from domain.errors import StateConflict
from workflows import search_attributes
from workflows.contracts import (
    CancelRequestInput,
    MatchRequestInput,
    RequestSpec,
    RescheduleRequestInput,
)
from workflows.ids import match_request_workflow_id
from workflows.match_request import MatchRequestWorkflow

router = APIRouter(prefix="/v1/match-requests", tags=["match requests"], route_class=StrictRoute)

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c9a52-3f7e-4f0e-9a59-0d5b7f1e2a10")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retrying with the same key returns the same request instead of a new one",
    ),
]
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
    """Validate, then start the request's workflow and answer once its row is durable."""
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
        now=await clock(),
        policy=booking_policy(settings),
        known_languages=await reads.known_languages(db),
    )
    request_id = (
        uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user}\n{idempotency_key}")
        if idempotency_key is not None
        else uuid.uuid4()
    )
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
    start = WithStartWorkflowOperation(
        MatchRequestWorkflow.run,
        MatchRequestInput(spec=spec, policy=workflow_policy(settings)),
        id=match_request_workflow_id(spec.request_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes.initial(
            search_attributes.MATCH_REQUEST, [user], spec.slot_start, "waiting"
        ),
        static_summary=f"Match request of {user}: {spec.native_language_id} -> "
        f"{spec.learning_language_id} at {spec.slot_start:%Y-%m-%d %H:%M} UTC",
    )
    await reads.release(db)
    await workflow_call(
        temporal.execute_update_with_start_workflow(
            MatchRequestWorkflow.created, start_workflow_operation=start, rpc_timeout=UPDATE_TIMEOUT
        )
    )
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
        **accepted(MatchRequestOut, "The cancellation"),
    },
)
async def cancel_match_request(
    request_id: uuid.UUID, user: CurrentUser, db: DbDep, temporal: TemporalDep
) -> MatchRequestRow:
    """Cancel while waiting; once matched, cancel the session instead."""
    row = await reads.request_of(db, user, request_id)
    _require_waiting(row, "cancelled")
    await reads.release(db)
    handle = temporal.get_workflow_handle(match_request_workflow_id(str(request_id)))
    await workflow_call(
        handle.execute_update(
            MatchRequestWorkflow.cancel,
            CancelRequestInput(user_id=user),
            rpc_timeout=UPDATE_TIMEOUT,
        ),
        handle,
    )
    return await reads.request_of(db, user, request_id)


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
) -> MatchRequestRow:
    """Cancel this request and create its replacement atomically; answers with the new one."""
    row = await reads.request_of(db, user, request_id)
    _require_waiting(row, "rescheduled")
    validate_reschedule(body.availability_start, now=await clock(), policy=booking_policy(settings))
    new_request_id = uuid.uuid4()
    await reads.release(db)
    handle = temporal.get_workflow_handle(match_request_workflow_id(str(request_id)))
    await workflow_call(
        handle.execute_update(
            MatchRequestWorkflow.reschedule,
            RescheduleRequestInput(
                user_id=user,
                new_request_id=str(new_request_id),
                new_slot_start=body.availability_start,
            ),
            rpc_timeout=UPDATE_TIMEOUT,
        ),
        handle,
    )
    return await reads.request_of(db, user, new_request_id)


def _require_waiting(row: MatchRequestRow, verb: str) -> None:
    if row.status != "waiting":
        hint = "; cancel its session instead" if row.status == "matched" else ""
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"only a waiting request can be {verb}; this one is {row.status}{hint}",
        )
