"""The lock that orders the API giving up on a booking against the activity making it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_booking(db: AsyncSession, request_id: uuid.UUID) -> None:
    """Hold the request's advisory lock until this transaction ends."""
    key = func.hashtextextended("parley.booking:" + str(request_id), 0)
    await db.execute(select(func.pg_advisory_xact_lock(key)))
