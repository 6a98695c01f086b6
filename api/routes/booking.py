"""`POST /v1/match-requests`: book a slot. The other calls on requests are in `match_requests`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api import rate_limit, reads, receipts
from api.bounded import NoWorkerInTime, answer_by, within
from api.deps import ClockDep, CurrentUser, DbDep, IdempotencyKey, SettingsDep, TemporalDep
from api.errors import workflow_call
from api.local_times import in_utc
from api.openapi import RATE_LIMITED
from api.policy import booking_policy, workflow_policy
from api.schemas import MatchRequestCreate, MatchRequestPublic
from api.strict_route import StrictRoute
from contracts import naming
from contracts.naming import match_request_workflow_id
from contracts.requests import (
    CreatedInput,
    MatchRequestInput,
    RequestSpec,
)
from contracts.statuses import RequestStatus
from db.models import MatchRequestRow
from domain.booking import validate_request
from domain.errors import StateConflict
from observability.context import WORKFLOW_ID
from workflows.match_request import MatchRequestWorkflow

router = APIRouter(prefix="/v1/match-requests", tags=["match requests"], route_class=StrictRoute)

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c9a52-3f7e-4f0e-9a59-0d5b7f1e2a10")
# Creates and reschedules share one rate-limit budget per user.
BOOKINGS = "booking"


def new_request_id(user: str, idempotency_key: str | None) -> uuid.UUID:
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
        and row.availability_end == (body.availability_end or body.availability_start)
        and row.preferred_duration_minutes == body.preferred_duration_minutes
    )
    if not same:
        raise StateConflict("this Idempotency-Key was used for a different request")


@router.post(
    "",
    response_model=MatchRequestPublic,
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
    body = await in_utc(body, db, user)
    if idempotency_key is not None:
        existing = await reads.request_by_idempotency_key(db, user, idempotency_key)
        if existing is not None:
            _require_same_request(existing, body)
            return existing
    request_id = new_request_id(user, idempotency_key)
    request = body.request(str(request_id), user, created_at=received)
    validate_request(
        request,
        now=received,
        policy=booking_policy(settings),
        known_languages=await reads.known_languages(db),
    )
    await rate_limit.take(db, user, BOOKINGS, received, settings.rate_limit_per_minute)
    spec = RequestSpec.of(request, idempotency_key=idempotency_key)
    deadline = answer_by(received, settings)
    WORKFLOW_ID.set(match_request_workflow_id(spec.request_id))
    start = WithStartWorkflowOperation(
        MatchRequestWorkflow.run,
        MatchRequestInput(spec=spec, policy=workflow_policy(settings), answer_by=deadline),
        id=match_request_workflow_id(spec.request_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=naming.initial(
            naming.MATCH_REQUEST, [user], spec.availability_start, RequestStatus.WAITING
        ),
        static_summary=f"Match request of {user}: {spec.native_language_id} -> "
        f"{spec.learning_language_id} at {spec.availability_start:%Y-%m-%d %H:%M} UTC",
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
