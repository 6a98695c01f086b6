"""`/v1/sessions`: your sessions, and joining, cancelling or ending one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from api import reads
from api.deps import CurrentUser, DbDep, TemporalDep
from api.errors import UPDATE_TIMEOUT, StillSettingUp, workflow_call
from api.openapi import accepted
from api.schemas import SessionOut
from api.strict_route import StrictRoute
from db.models import SessionRow
from workflows.contracts import SessionActionInput
from workflows.ids import session_workflow_id
from workflows.session import SessionWorkflow

SETUP_WAIT_SECONDS = 5

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=StrictRoute)

StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern="^(scheduled|active|completed|cancelled)$"),
]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The session is not in a state that allows this"}
}


@router.get("", response_model=list[SessionOut], summary="Your sessions")
async def list_sessions(
    user: CurrentUser,
    db: DbDep,
    status_filter: StatusFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SessionRow]:
    """Sessions you take part in, newest first."""
    return list(await reads.sessions_of(db, user, status_filter, limit, offset))


@router.get("/{session_id}", response_model=SessionOut, summary="One of your sessions")
async def get_session(session_id: uuid.UUID, user: CurrentUser, db: DbDep) -> SessionRow:
    """One of your sessions; someone else's is a 404."""
    return await reads.session_of(db, user, session_id)


@router.post("/{session_id}/join", response_model=SessionOut, responses=CONFLICT)
async def join_session(
    session_id: uuid.UUID, user: CurrentUser, db: DbDep, temporal: TemporalDep
) -> SessionRow:
    """Join from 5 minutes before the start until the no-show window closes."""
    return await _act(session_id, user, db, temporal, SessionWorkflow.join)


@router.post(
    "/{session_id}/cancel",
    response_model=SessionOut,
    responses={**CONFLICT, **accepted(SessionOut, "The cancellation")},
)
async def cancel_session(
    session_id: uuid.UUID, user: CurrentUser, db: DbDep, temporal: TemporalDep
) -> SessionRow:
    """Cancel before the session is active; your partner is rematched with priority."""
    return await _act(session_id, user, db, temporal, SessionWorkflow.cancel)


@router.post(
    "/{session_id}/end",
    response_model=SessionOut,
    responses={**CONFLICT, **accepted(SessionOut, "The end")},
)
async def end_session(
    session_id: uuid.UUID, user: CurrentUser, db: DbDep, temporal: TemporalDep
) -> SessionRow:
    """End an active session early."""
    return await _act(session_id, user, db, temporal, SessionWorkflow.end)


async def _act(
    session_id: uuid.UUID, user: str, db: DbDep, temporal: TemporalDep, update: object
) -> SessionRow:
    await reads.session_of(db, user, session_id)
    await reads.release(db)
    handle = temporal.get_workflow_handle(session_workflow_id(str(session_id)))
    # The matchmaker commits the row, then starts the workflow: someone who joins the moment
    # the session appears waits those few milliseconds here instead of getting a 503.
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(StillSettingUp),
        stop=stop_after_delay(SETUP_WAIT_SECONDS),
        wait=wait_exponential(multiplier=0.02, max=0.5),
        reraise=True,
    ):
        with attempt:
            await workflow_call(
                handle.execute_update(  # type: ignore[call-overload]
                    update, SessionActionInput(user_id=user), rpc_timeout=UPDATE_TIMEOUT
                ),
                handle,
            )
    return await reads.session_of(db, user, session_id)
