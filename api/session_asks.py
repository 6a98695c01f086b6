"""Cancel and end: receipts a participant leaves on a session, the rules that refuse them, and
how the workflow is told. The routes are in `api/routes/sessions.py`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException, Response, status
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import reads, receipts
from api.tell import Receipt, answer_receipt
from contracts.naming import session_workflow_id
from contracts.sessions import SessionReceiptSignal
from contracts.statuses import CancelReason, SessionStatus
from db.models import SessionRow
from domain import session_rules
from domain.session_rules import SessionClock
from settings import Settings
from workflows.session import SessionWorkflow

REARRANGED_MESSAGE = (
    "it was rearranged before anyone joined, and you have a new partner in another session"
)


def clock_of(row: SessionRow, settings: Settings) -> SessionClock:
    """The instants that govern this session."""
    return SessionClock.for_session(
        row.scheduled_start,
        row.duration_minutes,
        settings.join_opens_minutes,
        settings.no_show_grace_seconds,
    )


def conflict(row: SessionRow, reason: str) -> HTTPException:
    """409 saying what state the session is in and why that refuses the call."""
    if row.cancel_reason == CancelReason.REARRANGED:
        reason = REARRANGED_MESSAGE
    elif row.cancel_reason == CancelReason.NO_SHOW and row.cancelled_by is None:
        reason = "the no-show window has closed"
    if reason.startswith("the session is"):
        return HTTPException(status.HTTP_409_CONFLICT, reason)
    return HTTPException(status.HTTP_409_CONFLICT, f"the session is {row.status}: {reason}")


@dataclass(frozen=True)
class Ask:
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
        raise conflict(row, "your partner already cancelled this session")
    both = row.joined_user_ids() == {row.participant_one_id, row.participant_two_id}
    refusal = session_rules.cancel_refusal(clock_of(row, settings), received, row.status, both)
    if refusal:
        raise conflict(row, refusal)


def _refuse_end(row: SessionRow, user: str, received: datetime, settings: Settings) -> None:
    refusal = session_rules.end_refusal(row.status)
    if refusal:
        raise conflict(row, refusal)
    if row.end_requested_by not in (None, user):
        raise conflict(row, "your partner already ended it")


CANCEL = Ask(
    "cancel",
    SessionStatus.SCHEDULED,
    lambda row: row.cancel_requested_by,
    lambda row: row.cancel_requested_at,
    _refuse_cancel,
    receipts.record_session_cancel,
    SessionWorkflow.cancel_requested,
)
END = Ask(
    "end",
    SessionStatus.ACTIVE,
    lambda row: row.end_requested_by,
    lambda row: row.end_requested_at,
    _refuse_end,
    receipts.record_session_end,
    SessionWorkflow.end_requested,
)


async def ask(
    ask: Ask,
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
                raise conflict(row, f"it changed meanwhile; the {ask.verb} was not recorded")
        else:
            row = recorded
    await reads.release(db)
    receipt = Receipt(
        ask.pending,
        ask.asked_at(row),
        temporal.get_workflow_handle(session_workflow_id(str(session_id))),
        ask.signal,
        lambda at: SessionReceiptSignal(user, at),
    )
    return await answer_receipt(
        row, receipt, received, lambda: reads.session_now(db, user, session_id), settings, response
    )
