"""A session's row and the shapes workflows take it in, and the row queries pairing shares."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.meeting_rooms import MeetingRooms
from activities.request_rows import request_spec
from contracts.policy import Policy
from contracts.sessions import (
    SessionInput,
    SessionRowResult,
    SessionSpec,
)
from contracts.statuses import RequestStatus, SessionStatus
from db.models import MatchRequestRow, SessionRow


def session_values(
    spec: SessionSpec, created_at: datetime, rooms: MeetingRooms
) -> dict[str, object]:
    """The columns of a new scheduled session's row, with a meeting link from `rooms`."""
    return {
        "id": uuid.UUID(spec.session_id),
        "participant_one_id": spec.participant_one_id,
        "participant_two_id": spec.participant_two_id,
        "match_request_one_id": uuid.UUID(spec.match_request_one_id),
        "match_request_two_id": uuid.UUID(spec.match_request_two_id),
        "language_one_id": spec.language_one_id,
        "language_two_id": spec.language_two_id,
        "scheduled_start": spec.scheduled_start,
        "scheduled_end": spec.scheduled_start + timedelta(minutes=spec.duration_minutes),
        "duration_minutes": spec.duration_minutes,
        "status": SessionStatus.SCHEDULED,
        "meeting_url": rooms.url_for(spec.session_id),
        "created_at": created_at,
        "updated_at": created_at,
    }


def at_shard_slot(
    scheduled_start: datetime, duration_minutes: int, languages: tuple[str, str]
) -> ColumnElement[bool]:
    """The sessions of one matchmaker shard (duration, language pair) at one slot."""
    one, two = languages
    return (
        (SessionRow.scheduled_start == scheduled_start)
        & (SessionRow.duration_minutes == duration_minutes)
        & SessionRow.language_one_id.in_((one, two))
        & SessionRow.language_two_id.in_((one, two))
    )


def same_pair(row: SessionRow, spec: SessionSpec) -> bool:
    """Whether the row is the session the spec describes (the same two requests)."""
    return (str(row.match_request_one_id), str(row.match_request_two_id)) == (
        spec.match_request_one_id,
        spec.match_request_two_id,
    )


def claimable() -> ColumnElement[bool]:
    """Waiting, and its owner has not asked to cancel it (the claim trigger's own rule)."""
    return (
        MatchRequestRow.status == RequestStatus.WAITING
    ) & MatchRequestRow.cancel_requested_at.is_(None)


async def not_waiting(db: AsyncSession, spec: SessionSpec) -> list[str]:
    """Which of the pair's requests can no longer be claimed."""
    ids = [uuid.UUID(spec.match_request_one_id), uuid.UUID(spec.match_request_two_id)]
    rows = await db.execute(
        select(MatchRequestRow.id).where(MatchRequestRow.id.in_(ids), ~claimable())
    )
    return [str(row_id) for (row_id,) in rows]


async def match_waits(
    db: AsyncSession, session_ids: list[uuid.UUID], leaving_out: frozenset[uuid.UUID] = frozenset()
) -> list[timedelta]:
    """How long each request seated in these sessions waited from booking to this match."""
    if not session_ids:
        return []
    rows = await db.execute(
        select(MatchRequestRow.id, MatchRequestRow.matched_at, MatchRequestRow.created_at).where(
            MatchRequestRow.session_id.in_(session_ids)
        )
    )
    return [
        matched_at - created_at
        for request_id, matched_at, created_at in rows
        if request_id not in leaving_out and matched_at is not None
    ]


async def sessions_as_written(
    db: AsyncSession, session_ids: list[str], policy: Policy
) -> list[SessionInput]:
    """What each of these sessions' workflows must be started with, from the rows."""
    rows = await db.scalars(
        select(SessionRow).where(SessionRow.id.in_([uuid.UUID(i) for i in session_ids]))
    )
    inputs = []
    for row in rows:
        one = await db.get(MatchRequestRow, row.match_request_one_id)
        two = await db.get(MatchRequestRow, row.match_request_two_id)
        assert one is not None and two is not None
        inputs.append(
            SessionInput(
                spec=SessionSpec(
                    session_id=str(row.id),
                    participant_one_id=row.participant_one_id,
                    participant_two_id=row.participant_two_id,
                    match_request_one_id=str(row.match_request_one_id),
                    match_request_two_id=str(row.match_request_two_id),
                    language_one_id=row.language_one_id,
                    language_two_id=row.language_two_id,
                    scheduled_start=row.scheduled_start,
                    duration_minutes=row.duration_minutes,
                ),
                request_one=request_spec(one),
                request_two=request_spec(two),
                policy=policy,
            )
        )
    return inputs


async def session_facts(db: AsyncSession, session_id: str) -> SessionRowResult:
    """The session's row as it stands in this transaction."""
    row = await db.get(SessionRow, uuid.UUID(session_id), populate_existing=True)
    if row is None:
        return SessionRowResult(session_id=session_id, status="missing")
    rematches = await db.scalars(
        select(MatchRequestRow.id)
        .where(MatchRequestRow.origin_session_id == row.id)
        .order_by(MatchRequestRow.id)
    )
    return SessionRowResult(
        session_id=session_id,
        status=row.status,
        cancel_reason=row.cancel_reason,
        cancelled_by=row.cancelled_by,
        joined_user_ids=sorted(row.joined_user_ids()),
        cancel_requested_by=row.cancel_requested_by,
        rematch_request_ids=[str(i) for i in rematches],
        rematch_refusal=row.rematch_refusal,
    )
