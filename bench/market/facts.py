"""What happened in one market, read from Postgres once everything settled: every request and
session, plus the blocks the API accepted (as the learners saw them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

REQUESTS = text(
    "SELECT id::text, user_id, native_language_id, learning_language_id, proficiency_level,"
    " availability_start, availability_end, preferred_duration_minutes, priority, status,"
    " matched_at, session_id::text, origin_session_id::text, created_at, updated_at"
    " FROM match_requests"
)
SESSIONS = text(
    "SELECT id::text, match_request_one_id::text, match_request_two_id::text, scheduled_start,"
    " status, cancel_reason FROM sessions"
)


@dataclass(frozen=True)
class RequestFact:
    """One match request's row."""

    id: str
    user: str
    native: str
    learning: str
    level: str
    start: datetime
    end: datetime
    duration: int
    priority: int
    status: str
    matched_at: datetime | None
    session_id: str | None
    origin_session_id: str | None
    created_at: datetime
    # When it stopped waiting without a session (cancelled by its owner), if it did.
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class SessionFact:
    """One session's row."""

    id: str
    one: str
    two: str
    start: datetime
    status: str
    cancel_reason: str | None


@dataclass
class Blocks:
    """Who blocked whom, and when the API accepted it."""

    at: dict[frozenset[str], datetime] = field(default_factory=dict)

    def add(self, blocker: str, blocked: str, when: datetime) -> None:
        """Record a block (either direction blocks the pair)."""
        key = frozenset((blocker, blocked))
        self.at[key] = min(when, self.at.get(key, when))

    def blocked(self, a: str, b: str, before: datetime) -> bool:
        """Whether either had blocked the other before `before`."""
        when = self.at.get(frozenset((a, b)))
        return when is not None and when < before


@dataclass
class Facts:
    """The market's rows, indexed the ways the figures need."""

    requests: dict[str, RequestFact]
    sessions: dict[str, SessionFact]
    blocks: Blocks
    slot: timedelta
    live_session_of: dict[str, SessionFact] = field(default_factory=dict)
    sessions_at: dict[datetime, list[SessionFact]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        at: dict[datetime, list[SessionFact]] = defaultdict(list)
        for session in self.sessions.values():
            if session.cancel_reason == "rearranged":
                continue  # its requests moved to other sessions
            at[session.start].append(session)
            self.live_session_of[session.one] = session
            self.live_session_of[session.two] = session
        self.sessions_at = dict(at)

    def grid(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every slot start in [start, end]."""
        slot = start
        while slot <= end:
            yield slot
            slot += self.slot


async def load(engine: AsyncEngine, blocks: Blocks, slot: timedelta) -> Facts:
    """Every request and session of the market's database."""
    async with engine.connect() as connection:
        request_rows = (await connection.execute(REQUESTS)).all()
        session_rows = (await connection.execute(SESSIONS)).all()
    requests = {}
    for row in request_rows:
        (rid, user, native, learning, level, start, end, duration, priority, status) = row[:10]
        matched_at, session_id, origin, created_at, updated_at = row[10:]
        withdrawn = updated_at if status == "cancelled" and session_id is None else None
        requests[rid] = RequestFact(
            rid, user, native, learning, level, start, end, duration, priority, status,
            matched_at, session_id, origin, created_at, withdrawn,
        )  # fmt: skip
    sessions = {row[0]: SessionFact(*row) for row in session_rows}
    return Facts(requests, sessions, blocks, slot)


def rows_as_json(facts: Facts) -> dict[str, Any]:
    """Every row, for a look at what happened."""
    return {
        "requests": [
            asdict(r) for r in sorted(facts.requests.values(), key=lambda r: r.created_at)
        ],
        "sessions": [asdict(s) for s in sorted(facts.sessions.values(), key=lambda s: s.start)],
        "blocks": [[sorted(pair), at] for pair, at in facts.blocks.at.items()],
    }
