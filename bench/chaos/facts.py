"""What Postgres says happened: every request and session of the run, read after it settled, and
the overlaps between live bookings, sampled while it runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class RequestFacts:
    """One match_requests row."""

    id: str
    user_id: str
    status: str
    session_id: str | None
    origin_session_id: str | None
    priority: int
    released_at: datetime | None
    availability_start: datetime
    availability_end: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SessionFacts:
    """One sessions row."""

    id: str
    participants: tuple[str, str]
    request_ids: tuple[str, str]
    joined_at: tuple[datetime | None, datetime | None]
    scheduled_start: datetime
    status: str
    cancel_reason: str | None
    cancelled_by: str | None
    rematch_refusal: str | None

    def joined(self) -> set[str]:
        """Who has a join stamp."""
        return {user for user, at in zip(self.participants, self.joined_at, strict=True) if at}

    def partner(self, user_id: str) -> str:
        """The other participant."""
        one, two = self.participants
        return two if user_id == one else one

    def request_of(self, user_id: str) -> str:
        """The request that brought `user_id` into this session."""
        return self.request_ids[self.participants.index(user_id)]


@dataclass(frozen=True)
class Facts:
    """Every row of the run, by id."""

    requests: dict[str, RequestFacts]
    sessions: dict[str, SessionFacts]
    now: datetime


async def load(engine: AsyncEngine) -> Facts:
    """Read every request and session (the run's database holds nothing else)."""
    async with engine.connect() as connection:
        now = (await connection.execute(text("SELECT now()"))).scalar_one()
        requests = await connection.execute(
            text(
                "SELECT id::text, user_id, status, session_id::text, origin_session_id::text,"
                " priority, released_at, availability_start, availability_end, updated_at"
                " FROM match_requests"
            )
        )
        sessions = await connection.execute(
            text(
                "SELECT id::text, participant_one_id, participant_two_id,"
                " match_request_one_id::text, match_request_two_id::text,"
                " participant_one_joined_at, participant_two_joined_at, scheduled_start, status,"
                " cancel_reason, cancelled_by, rematch_refusal FROM sessions"
            )
        )
        return Facts(
            requests={row[0]: RequestFacts(*row) for row in requests},
            sessions={
                row[0]: SessionFacts(
                    row[0], (row[1], row[2]), (row[3], row[4]), (row[5], row[6]), *row[7:]
                )
                for row in sessions
            },
            now=now,
        )


# Two live requests, or two live sessions, of one person whose times overlap: what the
# exclusion constraint and the matchmaker must never let happen.
LIVE_OVERLAPS = """
WITH live_requests AS (
    SELECT id, user_id, booked_range FROM match_requests
     WHERE status = 'waiting' OR (status = 'matched' AND released_at IS NULL)
), live_seats AS (
    SELECT id, participant_one_id AS user_id, tstzrange(scheduled_start, scheduled_end) AS span
      FROM sessions WHERE status IN ('scheduled', 'active')
    UNION ALL
    SELECT id, participant_two_id, tstzrange(scheduled_start, scheduled_end)
      FROM sessions WHERE status IN ('scheduled', 'active')
)
SELECT 'requests', a.user_id, a.id::text, b.id::text FROM live_requests a
  JOIN live_requests b ON a.user_id = b.user_id AND a.id < b.id AND a.booked_range && b.booked_range
UNION ALL
SELECT 'sessions', a.user_id, a.id::text, b.id::text FROM live_seats a
  JOIN live_seats b ON a.user_id = b.user_id AND a.id < b.id AND a.span && b.span
"""

# Sessions that took place or are to take place, overlapping for one person, at any time.
HELD_OVERLAPS = """
WITH seats AS (
    SELECT id, participant_one_id AS user_id, tstzrange(scheduled_start, scheduled_end) AS span
      FROM sessions WHERE status <> 'cancelled'
    UNION ALL
    SELECT id, participant_two_id, tstzrange(scheduled_start, scheduled_end)
      FROM sessions WHERE status <> 'cancelled'
)
SELECT 'sessions', a.user_id, a.id::text, b.id::text FROM seats a
  JOIN seats b ON a.user_id = b.user_id AND a.id < b.id AND a.span && b.span
"""


@dataclass
class OverlapSampler:
    """Looks for live overlaps every few seconds while the run goes on."""

    engine: AsyncEngine
    every_seconds: float = 3.0
    samples: int = 0
    failed_samples: int = 0
    found: set[str] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set (a sample that fails in a fault is counted and skipped)."""
        while not stop.is_set():
            try:
                for row in await rows(self.engine, LIVE_OVERLAPS):
                    self.found.add(_overlap(row))
                self.samples += 1
            except DBAPIError:
                self.failed_samples += 1
            try:
                await asyncio.wait_for(stop.wait(), self.every_seconds)
            except TimeoutError:
                pass


async def held_overlaps(engine: AsyncEngine) -> list[str]:
    """Overlapping sessions not cancelled, of one person, over the whole run."""
    return [_overlap(row) for row in await rows(engine, HELD_OVERLAPS)]


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[str, ...]]:
    """The rows of a read-only query."""
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


def _overlap(row: tuple[str, ...]) -> str:
    kind, user, one, two = row
    return f"{user} holds two live {kind} at once: {one} and {two}"
