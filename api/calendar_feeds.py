"""Per-user calendar feeds: a secret URL a calendar app subscribes to. The secret is stored
hashed; a new feed revokes the old one, and revoking stamps the row rather than deleting it."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CalendarFeedRow


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _revoke_live(db: AsyncSession, user_id: str, at: datetime) -> None:
    await db.execute(
        update(CalendarFeedRow)
        .where(CalendarFeedRow.user_id == user_id, CalendarFeedRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_feeds(db: AsyncSession, user_id: str, at: datetime) -> None:
    """Every live feed of the user stops working."""
    await _revoke_live(db, user_id, at)
    await db.commit()


async def new_feed(db: AsyncSession, user_id: str, at: datetime) -> tuple[str, datetime]:
    """A new feed secret for the user (shown once), revoking any earlier one."""
    secret = secrets.token_urlsafe(32)
    await _revoke_live(db, user_id, at)
    db.add(
        CalendarFeedRow(id=uuid.uuid4(), user_id=user_id, secret_hash=_hash(secret), created_at=at)
    )
    await db.commit()
    return secret, at


async def feed_owner(db: AsyncSession, secret: str) -> str | None:
    """The user whose live feed this secret opens; None for an unknown or revoked one."""
    return await db.scalar(
        select(CalendarFeedRow.user_id).where(
            CalendarFeedRow.secret_hash == _hash(secret), CalendarFeedRow.revoked_at.is_(None)
        )
    )
