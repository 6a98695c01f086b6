"""Block lists: who blocked whom, read by the API and by the matchmaker's activities.

A block is active while `removed_at` is empty; it works both ways (neither is paired with the
other), and the database refuses a session between a blocked pair whatever code writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.statuses import SessionStatus
from db.models import SessionRow, UserBlockRow

ACTIVE = UserBlockRow.removed_at.is_(None)


async def blocked_pairs_among(db: AsyncSession, user_ids: Collection[str]) -> set[frozenset[str]]:
    """Every pair of these users where either has an active block on the other, in one
    statement."""
    if not user_ids:
        return set()
    ids = list(user_ids)
    rows = await db.execute(
        select(UserBlockRow.user_id, UserBlockRow.blocked_user_id).where(
            ACTIVE, UserBlockRow.user_id.in_(ids), UserBlockRow.blocked_user_id.in_(ids)
        )
    )
    return {frozenset(pair) for pair in rows}


async def blocks_involving(db: AsyncSession, user_ids: Collection[str]) -> dict[str, set[str]]:
    """For each of these users, everyone they block or are blocked by (active blocks), in one
    statement."""
    if not user_ids:
        return {}
    ids = list(user_ids)
    rows = await db.execute(
        select(UserBlockRow.user_id, UserBlockRow.blocked_user_id).where(
            ACTIVE, or_(UserBlockRow.user_id.in_(ids), UserBlockRow.blocked_user_id.in_(ids))
        )
    )
    wanted, others = set(ids), dict[str, set[str]]()
    for one, two in rows:
        for me, other in ((one, two), (two, one)):
            if me in wanted:
                others.setdefault(me, set()).add(other)
    return others


async def active_block(db: AsyncSession, user_id: str, blocked_user_id: str) -> UserBlockRow | None:
    """The user's active block on someone, if there is one."""
    return await db.scalar(
        select(UserBlockRow)
        .where(
            ACTIVE, UserBlockRow.user_id == user_id, UserBlockRow.blocked_user_id == blocked_user_id
        )
        .execution_options(populate_existing=True)
    )


async def blocks_of(
    db: AsyncSession, user_id: str, limit: int, offset: int
) -> Sequence[UserBlockRow]:
    """The user's active blocks, newest first."""
    rows = await db.scalars(
        select(UserBlockRow)
        .where(ACTIVE, UserBlockRow.user_id == user_id)
        .order_by(UserBlockRow.created_at.desc(), UserBlockRow.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all()


async def add_block(
    db: AsyncSession, user_id: str, blocked_user_id: str, at: datetime
) -> tuple[UserBlockRow, bool]:
    """The user's active block on someone, made now unless it exists; True if made now. Racing
    blocks of one pair make one row (the partial unique index settles it)."""
    made = await db.scalar(
        insert(UserBlockRow)
        .values(id=uuid.uuid4(), user_id=user_id, blocked_user_id=blocked_user_id, created_at=at)
        .on_conflict_do_nothing(index_elements=["user_id", "blocked_user_id"], index_where=ACTIVE)
        .returning(UserBlockRow.id)
    )
    block = await active_block(db, user_id, blocked_user_id)
    assert block is not None, "an active block was just made or found"
    return block, made is not None


async def remove_block(db: AsyncSession, user_id: str, blocked_user_id: str, at: datetime) -> bool:
    """Lift the user's active block on someone (the row stays); False if there was none."""
    lifted = await db.scalar(
        update(UserBlockRow)
        .where(
            ACTIVE, UserBlockRow.user_id == user_id, UserBlockRow.blocked_user_id == blocked_user_id
        )
        # A clock behind the block's stamp must not break the row's order.
        .values(removed_at=func.greatest(UserBlockRow.created_at, at))
        .returning(UserBlockRow.id)
    )
    return lifted is not None


async def scheduled_with(
    db: AsyncSession, user_id: str, others: Collection[str]
) -> dict[str, list[uuid.UUID]]:
    """The user's scheduled sessions with each of these people (blocking does not cancel them)."""
    if not others:
        return {}
    ids = list(others)
    rows = await db.execute(
        select(SessionRow.id, SessionRow.participant_one_id, SessionRow.participant_two_id)
        .where(
            SessionRow.status == SessionStatus.SCHEDULED,
            or_(
                and_(
                    SessionRow.participant_one_id == user_id, SessionRow.participant_two_id.in_(ids)
                ),
                and_(
                    SessionRow.participant_two_id == user_id, SessionRow.participant_one_id.in_(ids)
                ),
            ),
        )
        .order_by(SessionRow.scheduled_start, SessionRow.id)
    )
    kept: dict[str, list[uuid.UUID]] = {}
    for session_id, one, two in rows:
        kept.setdefault(two if one == user_id else one, []).append(session_id)
    return kept
