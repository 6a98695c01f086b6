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
from bench.scenarios.histories import PAIRS_SEATED, matchmaker_runs
from bench.stats import summary_ms
from domain.levels import Level
from domain.matching import MatchRules, pair_pool
from domain.requests import MatchRequest

SLOT_DELAY = timedelta(hours=2)
# A count that grew this recently (beyond the quiet spell before rearranging) is still moving.
STILL_PAIRING_SECONDS = 10


def random_learner(ctx: BenchContext, pairs: list[tuple[str, str]]) -> tuple[str, str, str]:
    """A native language, a language learnt (one of `pairs`, either way round) and a level."""
    a, b = ctx.rng.choice(pairs)
    if ctx.rng.random() < 0.5:
        a, b = b, a
    return a, b, ctx.rng.choice(LEVELS)


def bookings(ctx: BenchContext, profile: Profile, slot: datetime) -> list[Booking]:
    """Requests in random directions over a few language pairs, at random levels."""
    pairs = ctx.language_pairs(profile.hot_language_pairs)
    return [
        Booking(ctx.user("hot"), *random_learner(ctx, pairs), slot, DURATION_MINUTES)
        for _ in range(profile.hot_requests)
    ]


def candidate(request_id: str, booking: Booking) -> MatchRequest:
    """The request a booking made, as the domain's pairing sees it."""
    return MatchRequest(
        request_id=request_id,
        user_id=booking.user_id,
        native_language_id=booking.native,
        learning_language_id=booking.learning,
        proficiency_level=booking.level,
        priority=0,
        created_at=datetime.now(UTC),
        availability_start=booking.slot_start,
        availability_end=booking.last_start,
        preferred_duration_minutes=booking.duration_minutes,
    )


def most_pairs_possible(accepted: list[Booked]) -> int:
    """The size of a maximum matching of all accepted requests, as if they came at once."""
    return len(
        pair_pool([candidate(str(b.request_id), b.booking) for b in accepted], _rules(accepted))
    )


def _rules(accepted: list[Booked]) -> MatchRules:
    """Today's rules (no widening), as if every slot were still bookable."""
    first = min((b.booking.slot_start for b in accepted), default=datetime.now(UTC))
    return MatchRules(now=first - timedelta(minutes=1), slot_minutes=1)


async def pairable_left(ctx: BenchContext, slot: datetime) -> int:
    """Pairs that could still be made among the slot's waiting requests (should be none)."""
    rows = await ctx.rows(
        "SELECT id::text, user_id, native_language_id, learning_language_id, proficiency_level "
        "FROM match_requests WHERE availability_start = :slot AND status = 'waiting'",
        slot=slot,
    )
    return len(
        pair_pool(
            [
                candidate(row[0], Booking(row[1], row[2], row[3], row[4], slot, DURATION_MINUTES))
                for row in rows
            ],
            MatchRules(now=slot - timedelta(minutes=1), slot_minutes=1),
        )
    )


async def run(ctx: BenchContext, profile: Profile) -> dict[str, Any]:
    """Book them all with `hot_concurrency` users at once; wait until the pairs are made."""
    slot = ctx.slot_at_least(SLOT_DELAY)
    began = time.monotonic()
    posts = await book_all(ctx, bookings(ctx, profile, slot), profile.hot_concurrency, "hot slot")
    booked_seconds = time.monotonic() - began
    accepted = [post for post in posts if post.status_code == 201]
    most = most_pairs_possible(accepted)
    made, all_made_at = await wait_for_pairs(
        ctx, PAIRS_SEATED, {"slot": slot}, most, profile.match_timeout_seconds
    )
    left = await pairable_left(ctx, slot)
    [(rearranged,)] = await ctx.rows(
        "SELECT count(*) FROM sessions WHERE scheduled_start = :slot"
        " AND cancel_reason = 'rearranged'",
        slot=slot,
    )
    runs = await matchmaker_runs(ctx, slot)
    lost = await lost_requests(ctx, [str(post.request_id) for post in accepted], runs)
    return {
        "requests": len(posts),
        "accepted": len(accepted),
        "refused": len(posts) - len(accepted),
        "booking_seconds": round(booked_seconds, 1),
        "seconds_until_pairing_done": (
            round(all_made_at - began, 1) if all_made_at is not None else None
        ),
        "pairs_made": made,
        "pairs_possible": most,
        "pairable_pairs_left_waiting": left,
        "sessions_rearranged": rearranged,
        "post_latency": summary_ms([post.seconds for post in accepted]),
        "matchmaker_runs": len(runs),
        "largest_history_events": max((run["events"] for run in runs), default=0),
        "lost_requests": lost,
    }


async def book_all(
    ctx: BenchContext, bookings: list[Booking], concurrency: int, label: str
) -> list[Booked]:
    """POST every booking, in order, from `concurrency` users at once."""
    queue = list(reversed(bookings))
    posts: list[Booked] = []
    progress = bar(len(queue), f"{label}: requests")

    async def user() -> None:
        while queue:
            posts.append(await ctx.api.book(queue.pop()))
            progress.update()

    await asyncio.gather(*(user() for _ in range(concurrency)))
    progress.close()
    return posts


async def wait_for_pairs(
    ctx: BenchContext, seated_sql: str, params: dict[str, Any], most: int, timeout: float
) -> tuple[int, float | None]:
    """Poll the pairs seated (`seated_sql`, one count) until there are `most`; the last ones may
    wait for the matchmaker to swap partners for someone left alone, once the shard goes quiet.
    The count, and when it reached `most` (None if it never did)."""
    made, reached, _ = await watch_pairs(ctx, seated_sql, params, most, timeout)
    return made, reached


async def watch_pairs(
    ctx: BenchContext, seated_sql: str, params: dict[str, Any], most: int, timeout: float
) -> tuple[int, float | None, float]:
    """`wait_for_pairs`, and also when the count last grew (the last pair made so far). While
    pairs keep coming (a busy machine), it waits past `timeout` until they stop for a while."""
    quiet = ctx.target.settings.rearrange_after_quiet_seconds + STILL_PAIRING_SECONDS
    deadline = time.monotonic() + timeout + quiet
    made, grew_at = -1, time.monotonic()
    while time.monotonic() < max(deadline, grew_at + quiet):
        [(count,)] = await ctx.rows(seated_sql, **params)
        if count != made:
            made, grew_at = count, time.monotonic()
        if made >= most:
            return made, grew_at, grew_at
        await asyncio.sleep(0.1)
    return made, None, grew_at


async def lost_requests(
    ctx: BenchContext, request_ids: list[str], runs: list[dict[str, Any]]
) -> int:
    """Of these requests: those waiting that no running matchmaker holds, unless parked (never
    handed to one) with nobody waiting they could pair with, plus those in neither state."""
    rows = await ctx.rows(
        "SELECT id::text, status, matchmaker_told_at IS NULL FROM match_requests"
        " WHERE id = ANY(CAST(:ids AS uuid[]))",
        ids=request_ids,
    )
    waiting = {request_id for request_id, status, _ in rows if status == "waiting"}
    parked = {request_id for request_id, status, untold in rows if status == "waiting" and untold}
    stray = sum(1 for _, status, _ in rows if status not in ("waiting", "matched"))
    pooled: set[str] = set()
    for run in runs:
        pooled.update(run["waiting_request_ids"])
    unpooled_parked = sorted(parked - pooled)
    pairable = await ctx.rows(PARKED_WITH_A_PARTNER, ids=unpooled_parked, levels=list(Level))
    return len(waiting - pooled - parked) + len(pairable) + stray


# Parked requests someone waiting could pair with (levels as far apart as widening allows): the
# booking of either should have handed both to their matchmaker.
PARKED_WITH_A_PARTNER = """
SELECT r.id FROM match_requests r
 WHERE r.id = ANY(CAST(:ids AS uuid[]))
   AND EXISTS (
       SELECT 1 FROM match_requests o
        WHERE o.status = 'waiting' AND o.cancel_requested_at IS NULL
          AND o.native_language_id = r.learning_language_id
          AND o.learning_language_id = r.native_language_id
          AND o.preferred_duration_minutes = r.preferred_duration_minutes
          AND o.availability_start <= r.availability_end
          AND o.availability_end >= r.availability_start
          AND o.user_id <> r.user_id
          AND abs(array_position(CAST(:levels AS text[]), o.proficiency_level)
                  - array_position(CAST(:levels AS text[]), r.proficiency_level)) <= 2)
"""
