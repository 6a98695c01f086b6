"""A let-down partner's rematch: a `priority=1` request for the slot the rules chose, inserted in
the transaction that cancels their session (the seed's one step)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import EXCLUSION_VIOLATION, LIVE_LIMIT, sqlstate
from activities.request_rows import request_spec, row_values
from contracts.policy import Policy
from contracts.requests import RequestSpec
from db.models import MatchRequestRow, SessionRow
from domain.session_rules import Participant, rematch_window_end

# Rematch ids are derived from the session and the person, so the sweep, the session's own
# settlement and any retry of either name the same row (and one database constraint backs it).
REMATCH_NAMESPACE = uuid.UUID("b0b7d3e2-5b8c-4d0e-9d44-7f3a6c1e2f58")


def rematch_request_id(session_id: str, user_id: str) -> str:
    """The id of the rematch a session books for one of its people."""
    return str(uuid.uuid5(REMATCH_NAMESPACE, f"{session_id}/{user_id}"))


def _specs(
    original: MatchRequestRow, row: SessionRow, who: Participant, slot: datetime, policy: Policy
) -> list[RequestSpec]:
    """Who's rematch as the whole window from `slot` (`rematch_window_end`), then as the first
    slot alone: the first the partner's calendar has room for is booked."""
    window_end = rematch_window_end(
        slot,
        row.scheduled_start,
        original.availability_end,
        slot_minutes=policy.slot_minutes,
        rebook_minutes=policy.rebook_window_minutes,
    )
    return [
        replace(
            request_spec(original),
            request_id=rematch_request_id(str(row.id), who.user_id),
            availability_start=slot,
            availability_end=end,
            priority=1,
            replaces_request_id=str(original.id),
            origin_session_id=str(row.id),
        )
        for end in dict.fromkeys((window_end, slot))
    ]


async def _original(db: AsyncSession, who: Participant) -> MatchRequestRow:
    original = await db.get(MatchRequestRow, uuid.UUID(who.request_id))
    assert original is not None
    return original


async def book_rematch(
    db: AsyncSession,
    row: SessionRow,
    who: Participant,
    slot: datetime,
    at: datetime,
    policy: Policy,
) -> str | None:
    """Insert who's priority rematch, a window from `slot` (`rematch_window_end`); the reason
    it was refused, if the database refused it (an empty string if it already existed)."""
    for spec in _specs(await _original(db, who), row, who, slot, policy):
        try:
            async with db.begin_nested():
                inserted = await db.scalar(
                    insert(MatchRequestRow)
                    .values(**row_values(spec, at))
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(MatchRequestRow.id)
                )
        except (IntegrityError, InternalError) as error:
            if sqlstate(error) not in (EXCLUSION_VIOLATION, LIVE_LIMIT):
                raise
            continue
        return None if inserted is not None else ""
    return f"{who.user_id}: you already hold a request or session that overlaps {slot:%H:%M}"


async def book_rematches(
    db: AsyncSession,
    wanted: Sequence[tuple[SessionRow, Participant, datetime]],
    at: datetime,
    policy: Policy,
) -> list[str | None]:
    """`book_rematch` for each (session, who, slot), in order: the whole windows in one
    statement when the database takes them all (the usual case), else one at a time."""
    if not wanted:
        return []
    # The let-down partners' requests in one read (`book_rematch` then finds them loaded).
    originals = {
        row.id: row
        for row in await db.scalars(
            select(MatchRequestRow).where(
                MatchRequestRow.id.in_([uuid.UUID(who.request_id) for _, who, _ in wanted])
            )
        )
    }
    specs = [
        _specs(originals[uuid.UUID(who.request_id)], row, who, slot, policy)[0]
        for row, who, slot in wanted
    ]
    try:
        async with db.begin_nested():
            inserted = set(
                await db.scalars(
                    insert(MatchRequestRow)
                    .values([row_values(spec, at) for spec in specs])
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(MatchRequestRow.id)
                )
            )
    except (IntegrityError, InternalError) as error:
        if sqlstate(error) not in (EXCLUSION_VIOLATION, LIVE_LIMIT):
            raise
        return [await book_rematch(db, row, who, slot, at, policy) for row, who, slot in wanted]
    return [None if uuid.UUID(spec.request_id) in inserted else "" for spec in specs]
