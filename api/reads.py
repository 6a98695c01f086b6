"""Read-only queries behind the GET endpoints, always scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LanguageRow, MatchRequestRow, SessionRow


async def release(db: AsyncSession) -> None:
    """End the read transaction, so that no connection is held while a workflow answers; the
    rows already read stay readable as they were (detached, not expired)."""
    db.expunge_all()
    await db.rollback()


async def known_languages(db: AsyncSession) -> frozenset[str]:
    """Every language id the database knows."""
    return frozenset(await db.scalars(select(LanguageRow.id)))


async def languages(db: AsyncSession) -> Sequence[LanguageRow]:
    """All languages, by id."""
    return (await db.scalars(select(LanguageRow).order_by(LanguageRow.id))).all()


async def request_of(db: AsyncSession, user_id: str, request_id: uuid.UUID) -> MatchRequestRow:
    """The caller's request; someone else's is indistinguishable from a missing one (404)."""
    row = await db.scalar(
        select(MatchRequestRow)
        .where(MatchRequestRow.id == request_id, MatchRequestRow.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such match request")
    return row


async def request_by_idempotency_key(
    db: AsyncSession, user_id: str, key: str
) -> MatchRequestRow | None:
    """The caller's request created with this Idempotency-Key, if any."""
    return await db.scalar(
        select(MatchRequestRow).where(
            MatchRequestRow.user_id == user_id, MatchRequestRow.idempotency_key == key
        )
    )


async def requests_of(
    db: AsyncSession, user_id: str, status_filter: str | None, limit: int, offset: int
) -> Sequence[MatchRequestRow]:
    """The caller's requests, newest slot first."""
    query = select(MatchRequestRow).where(MatchRequestRow.user_id == user_id)
    if status_filter:
        query = query.where(MatchRequestRow.status == status_filter)
    query = query.order_by(
        MatchRequestRow.availability_start.desc(), MatchRequestRow.created_at.desc()
    )
    return (await db.scalars(query.limit(limit).offset(offset))).all()


def takes_part(user_id: str) -> ColumnElement[bool]:
    return or_(SessionRow.participant_one_id == user_id, SessionRow.participant_two_id == user_id)


async def session_of(db: AsyncSession, user_id: str, session_id: uuid.UUID) -> SessionRow:
    """The caller's session; someone else's is a 404."""
    row = await db.scalar(
        select(SessionRow)
        .where(SessionRow.id == session_id, takes_part(user_id))
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    return row


async def sessions_of(
    db: AsyncSession, user_id: str, status_filter: str | None, limit: int, offset: int
) -> Sequence[SessionRow]:
    """The caller's sessions, newest first."""
    query = select(SessionRow).where(takes_part(user_id))
    if status_filter:
        query = query.where(SessionRow.status == status_filter)
    query = query.order_by(SessionRow.scheduled_start.desc(), SessionRow.created_at.desc())
    return (await db.scalars(query.limit(limit).offset(offset))).all()


async def request_now(db: AsyncSession, user_id: str, request_id: uuid.UUID) -> MatchRequestRow:
    """The caller's request as it stands, without holding a connection afterwards."""
    row = await request_of(db, user_id, request_id)
    await release(db)
    return row


async def session_now(db: AsyncSession, user_id: str, session_id: uuid.UUID) -> SessionRow:
    """The caller's session as it stands, without holding a connection afterwards."""
    row = await session_of(db, user_id, session_id)
    await release(db)
    return row
