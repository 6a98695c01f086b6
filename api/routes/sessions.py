"""`/v1/sessions`: your sessions, and joining, cancelling or ending one.

Join, cancel and end are recorded on the session's row when they reach Parley (receipts), then
the session's workflow is told by a durable signal; none of them needs a worker to answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

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
from api.schemas import SessionOut
from api.strict_route import StrictRoute
from api.tell import tell, worth_telling
from contracts.naming import session_workflow_id
from contracts.sessions import SessionReceiptSignal
from contracts.statuses import CancelReason, SessionStatus
from db.models import SessionRow
from domain import session_rules
from domain.session_rules import SessionClock
from settings import Settings
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
    **accepted(SessionOut, "The ask (it reached Parley and is on the session's row)"),
}
REARRANGED_MESSAGE = (
    "it was rearranged before anyone joined, and you have a new partner in another session"
)


def _clock(row: SessionRow, settings: Settings) -> SessionClock:
    return SessionClock.for_session(
        row.scheduled_start,
        row.duration_minutes,
        settings.join_opens_minutes,
        settings.no_show_grace_seconds,
    )


def _joined(row: SessionRow) -> set[str]:
    stamps = (
        (row.participant_one_id, row.participant_one_joined_at),
        (row.participant_two_id, row.participant_two_joined_at),
    )
    return {user for user, at in stamps if at is not None}


def _conflict(row: SessionRow, reason: str) -> HTTPException:
    """409 saying what state the session is in and why that refuses the call."""
    if row.cancel_reason == CancelReason.REARRANGED:
        reason = REARRANGED_MESSAGE
    elif row.cancel_reason == CancelReason.NO_SHOW and row.cancelled_by is None:
        reason = "the no-show window has closed"
    if reason.startswith("the session is"):
        return HTTPException(status.HTTP_409_CONFLICT, reason)
    return HTTPException(status.HTTP_409_CONFLICT, f"the session is {row.status}: {reason}")


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
    if not (user in _joined(row) and row.status in (SessionStatus.SCHEDULED, SessionStatus.ACTIVE)):
        refusal = session_rules.join_refusal(_clock(row, settings), received, row.status)
        if refusal:
            raise _conflict(row, refusal)
        recorded = await receipts.record_join(db, session_id, user, received)
        if recorded is None:
            row = await reads.session_of(db, user, session_id)
            raise _conflict(row, "the no-show window has closed")
        row = recorded
    await reads.release(db)
    if recorded is not None:
        # Only a join this call recorded is told (the deadline reads the row anyway): a client
        # looping on /join cannot flood the session's history with signals.
        handle = temporal.get_workflow_handle(session_workflow_id(str(session_id)))
        signal = SessionReceiptSignal(user, received)
        await tell(handle, SessionWorkflow.joined, signal, settings.workflow_call_timeout_seconds)
    if _joined(row) == {row.participant_one_id, row.participant_two_id} and (
        received >= row.scheduled_start and row.status == SessionStatus.SCHEDULED
    ):
        # Both are here and it is time: answer with the session running, if it gets there soon.
        row, _ = await until_changed(
            lambda: reads.session_now(db, user, session_id),
            lambda r: r.status != SessionStatus.SCHEDULED,
            settings,
        )
    return row


@dataclass(frozen=True)
class _Ask:
    """A receipt a participant can leave on a session (cancel or end), and how it is handled."""

    verb: str
    pending: str  # the status the session keeps until the workflow carries the ask out
    asked_by: Callable[[SessionRow], str | None]
    asked_at: Callable[[SessionRow], datetime | None]
    refuse: Callable[[SessionRow, str, datetime, Settings], None]
    record: Callable[[AsyncSession, uuid.UUID, str, datetime], Awaitable[SessionRow | None]]
    signal: Any


def _refuse_cancel(row: SessionRow, user: str, received: datetime, settings: Settings) -> None:
    if row.cancel_requested_by not in (None, user):
        raise _conflict(row, "your partner already cancelled this session")
    both = _joined(row) == {row.participant_one_id, row.participant_two_id}
    refusal = session_rules.cancel_refusal(_clock(row, settings), received, row.status, both)
    if refusal:
        raise _conflict(row, refusal)


def _refuse_end(row: SessionRow, user: str, received: datetime, settings: Settings) -> None:
    refusal = session_rules.end_refusal(row.status)
    if refusal:
        raise _conflict(row, refusal)
    if row.end_requested_by not in (None, user):
        raise _conflict(row, "your partner already ended it")


CANCEL = _Ask(
    "cancel",
    SessionStatus.SCHEDULED,
    lambda row: row.cancel_requested_by,
    lambda row: row.cancel_requested_at,
    _refuse_cancel,
    receipts.record_session_cancel,
    SessionWorkflow.cancel_requested,
)
END = _Ask(
    "end",
    SessionStatus.ACTIVE,
    lambda row: row.end_requested_by,
    lambda row: row.end_requested_at,
    _refuse_end,
    receipts.record_session_end,
    SessionWorkflow.end_requested,
)


@router.post("/{session_id}/cancel", response_model=SessionOut, responses=RECORDED)
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
    return await _ask(CANCEL, session_id, user, db, temporal, settings, await clock(), response)


@router.post("/{session_id}/end", response_model=SessionOut, responses=RECORDED)
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
    return await _ask(END, session_id, user, db, temporal, settings, await clock(), response)


async def _ask(
    ask: _Ask,
    session_id: uuid.UUID,
    user: str,
    db: AsyncSession,
    temporal: Client,
    settings: Settings,
    received: datetime,
    response: Response,
) -> SessionRow:
    """Record the ask (a retry of one's own finds it recorded), tell the workflow, and wait a
    bounded time for it to be carried out: 200 once it is, 202 while only recorded."""
    row = await reads.session_of(db, user, session_id)
    if ask.asked_by(row) != user:
        ask.refuse(row, user, received, settings)
        recorded = await ask.record(db, session_id, user, received)
        if recorded is None:  # it changed meanwhile: say why, unless it was our own retry
            row = await reads.session_of(db, user, session_id)
            if ask.asked_by(row) != user:
                ask.refuse(row, user, received, settings)
                raise _conflict(row, f"it changed meanwhile; the {ask.verb} was not recorded")
        else:
            row = recorded
    await reads.release(db)
    at = ask.asked_at(row)
    if row.status == ask.pending and at is not None and worth_telling(at, received):
        handle = temporal.get_workflow_handle(session_workflow_id(str(session_id)))
        signal = SessionReceiptSignal(user, at)
        if await tell(handle, ask.signal, signal, settings.workflow_call_timeout_seconds):
            row, _ = await until_changed(
                lambda: reads.session_now(db, user, session_id),
                lambda r: r.status != ask.pending,
                settings,
            )
    if row.status == ask.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return row
