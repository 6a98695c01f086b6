"""A per-user rate limit shared by every API process: GCRA over one Postgres row per user.

The generic cell rate algorithm keeps a single timestamp per user and action, the theoretical
arrival time (TAT) of the next call if calls came at the allowed rate. A call at `now` is allowed
when `max(TAT, now) + interval <= now + window`, and moves TAT forward by one interval. With
`limit` calls a minute that allows a burst of `limit` and then one call every `60/limit` seconds.
One atomic upsert decides and records, so racing calls on several API processes cannot pass the
limit. (The maintained rate-limit libraries for Python keep state in memory, Redis or Memcached;
Parley's only shared store is Postgres.)
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from fastapi import HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RateLimitRow

WINDOW = timedelta(minutes=1)


class RateLimited(HTTPException):
    """429 with Retry-After: too many calls of one kind from one user."""

    def __init__(self, action: str, limit: int, retry_after: timedelta) -> None:
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many {action} calls: at most {limit} a minute per user "
            f"(PARLEY_RATE_LIMIT_PER_MINUTE); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


async def take(db: AsyncSession, user_id: str, action: str, now: datetime, limit: int) -> None:
    """Count one `action` call of `user_id` at `now`; raise RateLimited past `limit` a minute."""
    interval = WINDOW / limit
    tat = RateLimitRow.theoretical_arrival
    statement = (
        insert(RateLimitRow)
        .values(user_id=user_id, action=action, theoretical_arrival=now + interval)
        .on_conflict_do_update(
            index_elements=[RateLimitRow.user_id, RateLimitRow.action],
            set_={"theoretical_arrival": func.greatest(tat, now) + interval},
            where=func.greatest(tat, now) + interval <= now + WINDOW,
        )
        .returning(tat)
    )
    allowed = (await db.execute(statement)).first()
    if allowed is None:
        current = await db.scalar(
            select(tat).where(RateLimitRow.user_id == user_id, RateLimitRow.action == action)
        )
        await db.commit()
        assert current is not None
        raise RateLimited(action, limit, max(current, now) + interval - (now + WINDOW))
    await db.commit()
