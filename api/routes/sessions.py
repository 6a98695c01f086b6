"""`/v1/sessions`: your sessions, and joining, cancelling or ending one.

Join, cancel and end are recorded on the session's row when they reach Parley (receipts), then
the session's workflow is told by a durable signal; none of them needs a worker to answer.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api import reads, receipts
from api.bounded import until_changed
from api.deps import (
    ClockDep,
    CurrentUser,
    DbDep,
    IdempotencyKey,
    SettingsDep,
    TemporalDep,
)
from api.openapi import accepted
from api.schemas import SessionPublic
from api.session_asks import CANCEL, END, ask, clock_of, conflict
from api.strict_route import StrictRoute
from api.tell import tell
from contracts.naming import session_workflow_id
from contracts.sessions import SessionReceiptSignal
from contracts.statuses import SessionStatus
from db.models import SessionRow
from domain import session_rules
from workflows.session import SessionWorkflow

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=StrictRoute)

StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern="^(scheduled|active|completed|cancelled)$"),
]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The session is not in a state that allows this"}
}
RECORDED: dict[int | str, dict[str, Any]] = {
    **CONFLICT,
    **accepted(SessionPublic, "The ask (it reached Parley and is on the session's row)"),
}


@router.get("", response_model=list[SessionPublic], summary="Your sessions")
async def list_sessions(
    user: CurrentUser,
    db: DbDep,
    status_filter: StatusFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SessionRow]:
    """Sessions you take part in, newest first."""
    return list(await reads.sessions_of(db, user, status_filter, limit, offset))


@router.get("/{session_id}", response_model=SessionPublic, summary="One of your sessions")
async def get_session(session_id: uuid.UUID, user: CurrentUser, db: DbDep) -> SessionRow:
    """One of your sessions; someone else's is a 404."""
    return await reads.session_of(db, user, session_id)


@router.post("/{session_id}/join", response_model=SessionPublic, responses=CONFLICT)
async def join_session(
    session_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> SessionRow:
    """Join from 5 minutes before the start until the no-show window closes.

    Your join counts from the moment it reaches Parley, even if no worker is running then.
    Joining twice is harmless (so is a retry, with or without an `Idempotency-Key`).
    """
    received = await clock()
    row = await reads.session_of(db, user, session_id)
    recorded = None
    if not (
        user in row.joined_user_ids()
        and row.status in (SessionStatus.SCHEDULED, SessionStatus.ACTIVE)
    ):
        refusal = session_rules.join_refusal(clock_of(row, settings), received, row.status)
        if refusal:
            raise conflict(row, refusal)
        recorded = await receipts.record_join(db, session_id, user, received)
        if recorded is None:
            row = await reads.session_of(db, user, session_id)
            raise conflict(row, "the no-show window has closed")
        row = recorded
    await reads.release(db)
    if recorded is not None:
        # Only a join this call recorded is told (the deadline reads the row anyway): a client
        # looping on /join cannot flood the session's history with signals.
        handle = temporal.get_workflow_handle(session_workflow_id(str(session_id)))
        signal = SessionReceiptSignal(user, received)
        await tell(handle, SessionWorkflow.joined, signal, settings.workflow_call_timeout_seconds)
    if row.joined_user_ids() == {row.participant_one_id, row.participant_two_id} and (
        received >= row.scheduled_start and row.status == SessionStatus.SCHEDULED
    ):
        # Both are here and it is time: answer with the session running, if it gets there soon.
        row, _ = await until_changed(
            lambda: reads.session_now(db, user, session_id),
            lambda r: r.status != SessionStatus.SCHEDULED,
            settings,
        )
    return row


@router.post("/{session_id}/cancel", response_model=SessionPublic, responses=RECORDED)
async def cancel_session(
    session_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionRow:
    """Cancel before the no-show deadline, while the session is not active; your partner is
    rematched with priority. Judged by when it reaches Parley: 200 with the cancelled session,
    or 202 with the recorded cancel if no worker carried it out within the bound."""
    return await ask(CANCEL, session_id, user, db, temporal, settings, await clock(), response)


@router.post("/{session_id}/end", response_model=SessionPublic, responses=RECORDED)
async def end_session(
    session_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionRow:
    """End an active session early, at the moment this reaches Parley: 200 with the completed
    session, or 202 with the recorded end if no worker carried it out within the bound."""
    return await ask(END, session_id, user, db, temporal, settings, await clock(), response)
