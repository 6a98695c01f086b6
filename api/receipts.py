"""Receipts: what a user asked, recorded on their row when it reached Parley, before answering.

These are the only writes the API makes. A join is stamped on the session; a cancel or an end is
recorded as `*_requested_by/_at`; a waiting request's cancel as `cancel_requested_at`. Each is
one guarded UPDATE (the row lock orders it against the slot's sweep and the matchmaker), so it
needs no worker: the workflows carry the change out when they run, and judge it by the time
recorded here. Every function answers the row as it stands after the attempt, or None when the
guard refused (the caller re-reads the row to say why).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.statuses import RequestStatus, SessionStatus
from db.booking_lock import lock_booking
from db.models import AbandonedBookingRow, MatchRequestRow, SessionRow


async def _session_update(
    db: AsyncSession, session_id: uuid.UUID, guard: ColumnElement[bool], **values: object
) -> SessionRow | None:
    row = await db.scalar(
        update(SessionRow)
        .where(SessionRow.id == session_id, guard)
        .values(**values)
        .returning(SessionRow)
        .execution_options(populate_existing=True)
    )
    await db.commit()
    return row


def _takes_part(user_id: str) -> ColumnElement[bool]:
    return or_(SessionRow.participant_one_id == user_id, SessionRow.participant_two_id == user_id)


async def record_join(
    db: AsyncSession, session_id: uuid.UUID, user_id: str, at: datetime
) -> SessionRow | None:
    """Stamp the participant's first join at `at`, while the session is still scheduled."""
    one = SessionRow.participant_one_id == user_id
    two = SessionRow.participant_two_id == user_id
    return await _session_update(
        db,
        session_id,
        (SessionRow.status == SessionStatus.SCHEDULED) & _takes_part(user_id),
        participant_one_joined_at=_stamp(one, SessionRow.participant_one_joined_at, at),
        participant_two_joined_at=_stamp(two, SessionRow.participant_two_joined_at, at),
        updated_at=at,
    )


def _stamp(applies: ColumnElement[bool], column: Any, at: datetime) -> Any:
    """The column's value, or `at` when this participant's stamp is still empty."""
    return case((applies & column.is_(None), at), else_=column)


async def _record_ask(
    db: AsyncSession,
    session_id: uuid.UUID,
    user_id: str,
    at: datetime,
    *,
    status: str,
    asked_by: Any,
    asked_at: Any,
) -> SessionRow | None:
    """Record who asked and when, while the session is in `status` and nobody asked yet."""
    return await _session_update(
        db,
        session_id,
        (SessionRow.status == status) & asked_by.is_(None) & _takes_part(user_id),
        **{asked_by.key: user_id, asked_at.key: at, "updated_at": at},
    )


async def record_session_cancel(
    db: AsyncSession, session_id: uuid.UUID, user_id: str, at: datetime
) -> SessionRow | None:
    """Record the participant's cancel, unless the session left `scheduled` or someone already
    asked to cancel it."""
    return await _record_ask(
        db,
        session_id,
        user_id,
        at,
        status=SessionStatus.SCHEDULED,
        asked_by=SessionRow.cancel_requested_by,
        asked_at=SessionRow.cancel_requested_at,
    )


async def record_session_end(
    db: AsyncSession, session_id: uuid.UUID, user_id: str, at: datetime
) -> SessionRow | None:
    """Record the participant's end of an active session, unless someone already asked."""
    return await _record_ask(
        db,
        session_id,
        user_id,
        at,
        status=SessionStatus.ACTIVE,
        asked_by=SessionRow.end_requested_by,
        asked_at=SessionRow.end_requested_at,
    )


async def record_request_cancel(
    db: AsyncSession, request_id: uuid.UUID, user_id: str, at: datetime
) -> MatchRequestRow | None:
    """Record the owner's cancel of a waiting request: from now on no session may claim it."""
    row = await db.scalar(
        update(MatchRequestRow)
        .where(
            MatchRequestRow.id == request_id,
            MatchRequestRow.user_id == user_id,
            MatchRequestRow.status == RequestStatus.WAITING,
            MatchRequestRow.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=at, updated_at=at)
        .returning(MatchRequestRow)
        .execution_options(populate_existing=True)
    )
    await db.commit()
    return row


async def give_up_booking(
    db: AsyncSession, user_id: str, request_id: uuid.UUID, answer_by: datetime
) -> MatchRequestRow | None:
    """The API stops waiting for this booking: the request if it was made in time after all
    (answer with it), else None, and it will never be made for this caller (answer 503)."""
    async with db.begin():
        await lock_booking(db, request_id)
        row = await db.scalar(
            select(MatchRequestRow)
            .where(MatchRequestRow.id == request_id, MatchRequestRow.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        if row is None:
            await db.execute(
                insert(AbandonedBookingRow)
                .values(request_id=request_id, answer_by=answer_by)
                .on_conflict_do_update(
                    index_elements=[AbandonedBookingRow.request_id],
                    set_={"answer_by": func.greatest(AbandonedBookingRow.answer_by, answer_by)},
                )
            )
    return row
