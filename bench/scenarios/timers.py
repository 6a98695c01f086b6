"""Scenario 4: sessions where one participant never joins; how late the no-show cancel lands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.api_client import Booking
from bench.context import LEVELS, BenchContext
from bench.profiles import Profile
from bench.progress import bar
from bench.stats import summary_ms

# How often the benchmark looks for cancelled sessions: the resolution of the lateness figure.
POLL_SECONDS = 0.05
MARGIN = timedelta(seconds=20)


async def run(ctx: BenchContext, profile: Profile, requests_per_second: float) -> dict[str, Any]:
    """Book the pairs into one slot, let one of each join, and watch the no-shows land.

    The slot is chosen so that booking at half `requests_per_second` ends before it starts.
    """
    sessions = profile.timer_sessions
    booking = timedelta(seconds=4 * sessions / max(requests_per_second, 1.0))
    slot = ctx.slot_at_least(MARGIN + booking)
    grace = timedelta(seconds=ctx.target.settings.no_show_grace_seconds)
    due = slot + grace
    language_pairs = ctx.language_pairs(4)
    pairs = [
        ctx.reciprocal("timer", ctx.rng.choice(language_pairs), slot, ctx.rng.choice(LEVELS))
        for _ in range(sessions)
    ]
    progress = bar(sessions, "timers: book, match, join one")
    gate = asyncio.Semaphore(8)
    join_refusals: list[str] = []

    async def book_and_join(pair: tuple[Booking, Booking]) -> str | None:
        async with gate:
            first, second = await asyncio.gather(*(ctx.api.book(b) for b in pair))
            if first.status_code != 201 or second.status_code != 201:
                return None
            seen = await ctx.api.wait_for_session(pair[0].user_id, profile.match_timeout_seconds)
            if seen is None:
                return None
            refusal = await ctx.api.join(pair[0].user_id, seen[1])
            progress.update()
            if refusal is not None:
                join_refusals.append(refusal)
                return None
            return seen[1]

    outcomes = await asyncio.gather(*map(book_and_join, pairs))
    ready = sum(1 for outcome in outcomes if outcome)
    progress.close()
    booked_by = datetime.now(UTC)
    lateness, rematch_lateness = await _watch_cancellations(ctx, slot, due, ready)
    # Let the sessions' workflows finish, so their histories are whole when counted.
    await asyncio.sleep(2)
    reasons = await ctx.rows(
        "SELECT cancel_reason, count(*) FROM sessions WHERE scheduled_start = :slot "
        "GROUP BY cancel_reason",
        slot=slot,
    )
    # The sweep's own clock, which it writes on every row it settles: when the matchmaker's timer
    # fired, against when the commit became visible (the lateness above).
    decided = await ctx.rows(
        "SELECT extract(epoch FROM updated_at - CAST(:due AS timestamptz))::float8 FROM sessions"
        " WHERE scheduled_start = :slot AND status = 'cancelled'",
        slot=slot,
        due=due,
    )
    return {
        "sessions": sessions,
        "ready_before_start": ready,
        "decided_after_start_plus_grace": summary_ms([seconds for (seconds,) in decided]),
        "seconds_to_spare_at_start": round((slot - booked_by).total_seconds(), 1),
        "grace_seconds": grace.total_seconds(),
        "join_refusals": sorted(set(join_refusals))[:5],
        "cancellations_seen": len(lateness),
        "cancel_reasons": {str(reason): n for reason, n in reasons},
        "lateness_after_start_plus_grace": summary_ms(lateness),
        "rematches_seen": len(rematch_lateness),
        "rematch_after_start_plus_grace": summary_ms(rematch_lateness),
        "poll_resolution_ms": POLL_SECONDS * 1000,
        "session_ids": [session_id for session_id in outcomes if session_id],
    }


async def _watch_cancellations(
    ctx: BenchContext, slot: datetime, due: datetime, expected: int
) -> tuple[list[float], list[float]]:
    """Poll the database: when each session was first seen cancelled, and when the priority
    rematch of the one who joined first appeared, both after start + grace."""
    cancelled: dict[str, float] = {}
    rematched: dict[str, float] = {}
    give_up = due + timedelta(seconds=60)
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 1))
    while min(len(cancelled), len(rematched)) < expected and datetime.now(UTC) < give_up:
        rows = await ctx.rows(
            "SELECT s.id::text, s.status = 'cancelled', r.id IS NOT NULL FROM sessions s"
            " LEFT JOIN match_requests r ON r.origin_session_id = s.id"
            " WHERE s.scheduled_start = :slot",
            slot=slot,
        )
        late = (datetime.now(UTC) - due).total_seconds()
        for session_id, is_cancelled, has_rematch in rows:
            if is_cancelled:
                cancelled.setdefault(session_id, late)
            if has_rematch:
                rematched.setdefault(session_id, late)
        await asyncio.sleep(POLL_SECONDS)
    return list(cancelled.values()), list(rematched.values())
