"""A user's settings: their time zone (UTC until they set one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import UserSettingsRow

DEFAULT_TIME_ZONE = "UTC"


async def time_zone_of(db: AsyncSession, user_id: str) -> str:
    """The user's IANA time zone."""
    zone = await db.scalar(
        select(UserSettingsRow.time_zone).where(UserSettingsRow.user_id == user_id)
    )
    return zone or DEFAULT_TIME_ZONE


async def set_time_zone(db: AsyncSession, user_id: str, zone: str, at: datetime) -> None:
    """Store the user's time zone (already checked to be an IANA name)."""
    await db.execute(
        insert(UserSettingsRow)
        .values(user_id=user_id, time_zone=zone, created_at=at, updated_at=at)
        .on_conflict_do_update(
            index_elements=["user_id"], set_={"time_zone": zone, "updated_at": at}
        )
    )
