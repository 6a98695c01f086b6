"""Reliability records read from the sessions table: no counter, so nothing can drift from it.

A session counts when it started in the last `WINDOW_DAYS` (and not in the future) and either
completed or was cancelled as a no-show. The user no-showed in it when it was cancelled as a
no-show and their own join stamp is empty (the partner who came is not blamed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from domain.reliability import (
    NO_RECORD,
    RECENT_SESSIONS,
    WINDOW_DAYS,
    ReliabilityRecord,
    is_unreliable,
)

# One branch per participant column, so each uses its own (participant_*_id, scheduled_start)
# index; a session holds a user in at most one column, so UNION ALL counts nothing twice.
_COUNTED = """
SELECT s.participant_{side}_id AS user_id, s.scheduled_start, s.id,
       (s.cancel_reason = 'no_show' AND s.participant_{side}_joined_at IS NULL) AS no_show
  FROM sessions s
 WHERE s.participant_{side}_id = ANY(:user_ids)
   AND s.scheduled_start >= :since AND s.scheduled_start <= :now
   AND (s.status = 'completed' OR (s.status = 'cancelled' AND s.cancel_reason = 'no_show'))
"""

RECORDS = text(
    f"""
WITH counted AS ({_COUNTED.format(side="one")} UNION ALL {_COUNTED.format(side="two")}),
ranked AS (
    SELECT user_id, no_show,
           row_number() OVER (PARTITION BY user_id ORDER BY scheduled_start DESC, id DESC) AS n
      FROM counted
)
SELECT user_id,
       count(*) AS sessions,
       count(*) FILTER (WHERE no_show) AS no_shows,
       count(*) FILTER (WHERE n <= :recent) AS recent_sessions,
       count(*) FILTER (WHERE no_show AND n <= :recent) AS recent_no_shows
  FROM ranked
 GROUP BY user_id
"""
).bindparams(bindparam("user_ids", type_=ARRAY(Text)))


async def records_among(
    db: AsyncSession, user_ids: Collection[str], now: datetime
) -> dict[str, ReliabilityRecord]:
    """The record of each user who has counted sessions, in one statement."""
    if not user_ids:
        return {}
    rows = await db.execute(
        RECORDS,
        {
            "user_ids": list(user_ids),
            "since": now - timedelta(days=WINDOW_DAYS),
            "now": now,
            "recent": RECENT_SESSIONS,
        },
    )
    return {
        row.user_id: ReliabilityRecord(
            row.sessions, row.no_shows, row.recent_sessions, row.recent_no_shows
        )
        for row in rows
    }


async def record_of(db: AsyncSession, user_id: str, now: datetime) -> ReliabilityRecord:
    """One user's record as of `now` (all zeros without counted sessions)."""
    return (await records_among(db, [user_id], now)).get(user_id, NO_RECORD)


async def unreliable_among(db: AsyncSession, user_ids: Collection[str], now: datetime) -> set[str]:
    """Which of these users the no-show rule puts after the others, in one statement."""
    records = await records_among(db, user_ids, now)
    return {user_id for user_id, record in records.items() if is_unreliable(record)}
