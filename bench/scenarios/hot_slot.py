"""Scenario 3: thousands of requests into one slot, mixed language pairs and levels, as fast
as the API takes them; then check every possible pair was made and nothing was lost."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.api_client import Booked, Booking
from bench.context import DURATION_MINUTES, LEVELS, BenchContext
from bench.profiles import Profile
from bench.progress import bar
from bench.scenarios.histories import matchmaker_runs
from bench.stats import summary_ms
from domain.levels import Level
from domain.matching import Candidate, pair_pool

SLOT_DELAY = timedelta(hours=2)


def bookings(ctx: BenchContext, profile: Profile, slot: datetime) -> list[Booking]:
    """Requests in random directions over a few language pairs, at random levels."""
    pairs = ctx.language_pairs(profile.hot_language_pairs)
    result = []
    for _ in range(profile.hot_requests):
        a, b = ctx.rng.choice(pairs)
        if ctx.rng.random() < 0.5:
            a, b = b, a
        level = ctx.rng.choice(LEVELS)
        result.append(Booking(ctx.user("hot"), a, b, level, slot, DURATION_MINUTES))
    return result


def most_pairs_possible(accepted: list[Booked]) -> int:
    """The size of a maximum matching of the accepted requests (the pure, exact matcher)."""
    now = datetime.now(UTC)
    candidates = [
        Candidate(
            request_id=str(booked.request_id),
            user_id=booked.booking.user_id,
            native_language_id=booked.booking.native,
            learning_language_id=booked.booking.learning,
            level=Level(booked.booking.level),
            priority=0,
            waiting_since=now,
            slot_start=booked.booking.slot_start,
            duration_minutes=booked.booking.duration_minutes,
        )
        for booked in accepted
    ]
    return len(pair_pool(candidates))


async def run(ctx: BenchContext, profile: Profile) -> dict[str, Any]:
    """Book them all with `hot_concurrency` users at once; wait until the pairs are made."""
    slot = ctx.slot_at_least(SLOT_DELAY)
    queue = list(reversed(bookings(ctx, profile, slot)))
    posts: list[Booked] = []
    progress = bar(len(queue), "hot slot: requests")
    began = time.monotonic()

    async def user() -> None:
        while queue:
            posts.append(await ctx.api.book(queue.pop()))
            progress.update()

    await asyncio.gather(*(user() for _ in range(profile.hot_concurrency)))
    progress.close()
    booked_seconds = time.monotonic() - began
    accepted = [post for post in posts if post.status_code == 201]
    most = most_pairs_possible(accepted)
    made, all_made_at = await _wait_for_pairs(ctx, slot, most, profile.match_timeout_seconds)
    runs = await matchmaker_runs(ctx, slot)
    lost = await _lost_requests(ctx, slot, runs)
    return {
        "requests": len(posts),
        "accepted": len(accepted),
        "refused": len(posts) - len(accepted),
        "booking_seconds": round(booked_seconds, 1),
        "seconds_until_all_pairs": (
            round(all_made_at - began, 1) if all_made_at is not None else None
        ),
        "pairs_made": made,
        "pairs_possible": most,
        "post_latency": summary_ms([post.seconds for post in accepted]),
        "matchmaker_runs": len(runs),
        "largest_history_events": max((run["events"] for run in runs), default=0),
        "lost_requests": lost,
    }


async def _wait_for_pairs(
    ctx: BenchContext, slot: datetime, most: int, timeout: float
) -> tuple[int, float | None]:
    deadline = time.monotonic() + timeout
    made = 0
    while True:
        [(made,)] = await ctx.rows(
            "SELECT count(*) FROM sessions WHERE scheduled_start = :slot", slot=slot
        )
        if made >= most:
            return made, time.monotonic()
        if time.monotonic() > deadline:
            return made, None
        await asyncio.sleep(0.1)


async def _lost_requests(ctx: BenchContext, slot: datetime, runs: list[dict[str, Any]]) -> int:
    """Waiting requests no running matchmaker holds, plus requests in neither state."""
    rows = await ctx.rows(
        "SELECT id::text, status FROM match_requests WHERE availability_start = :slot", slot=slot
    )
    waiting = {request_id for request_id, status in rows if status == "waiting"}
    stray = sum(1 for _, status in rows if status not in ("waiting", "matched"))
    pooled: set[str] = set()
    for run in runs:
        pooled.update(run["waiting_request_ids"])
    return len(waiting - pooled) + stray
