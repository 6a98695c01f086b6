"""Pairs taken through one life each, for the history scenario when the phases that usually
supply them (steady, timers) are not run: matched only, and completed (both join, one ends it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bench.api_client import Booking
from bench.context import LEVELS, BenchContext
from bench.profiles import Profile
from bench.progress import bar

# Far enough ahead for every pair to be booked, matched and joined before the slot starts,
# on a busy machine too.
COMPLETED_MARGIN = timedelta(seconds=30)
COMPLETED_MARGIN_PER_PAIR = timedelta(seconds=3)
# Pairs booked at once.
PARALLEL = 8


def _pairs(
    ctx: BenchContext, profile: Profile, scenario: str, slot: datetime
) -> list[tuple[Booking, Booking]]:
    language_pairs = ctx.language_pairs(2)
    return [
        ctx.reciprocal(scenario, ctx.rng.choice(language_pairs), slot, ctx.rng.choice(LEVELS))
        for _ in range(profile.history_pairs)
    ]


async def _book_and_match(
    ctx: BenchContext, profile: Profile, pair: tuple[Booking, Booking]
) -> str | None:
    first, second = await asyncio.gather(*(ctx.api.book(booking) for booking in pair))
    if first.status_code != 201 or second.status_code != 201:
        return None
    seen = await ctx.api.wait_for_session(pair[0].user_id, profile.match_timeout_seconds)
    return None if seen is None else seen[1]


async def matched(ctx: BenchContext, profile: Profile) -> list[str]:
    """`history_pairs` pairs booked into a slot two hours ahead and matched: their sessions."""
    slot = ctx.slot_at_least(timedelta(hours=2))
    gate = asyncio.Semaphore(PARALLEL)

    async def one(pair: tuple[Booking, Booking]) -> str | None:
        async with gate:
            return await _book_and_match(ctx, profile, pair)

    found = await asyncio.gather(*map(one, _pairs(ctx, profile, "matched", slot)))
    return [session_id for session_id in found if session_id]


async def completed(ctx: BenchContext, profile: Profile) -> tuple[list[str], list[str]]:
    """`history_pairs` pairs booked into the next slot at least 30 s (and 3 s a pair) ahead;
    once they are matched (to whoever the matchmaker chose: one speaker of each side per
    session) and the slot is quiet, both people of each session join before it starts, and once
    it is active one of them ends it: the completed sessions, and what went wrong for others."""
    slot = ctx.slot_at_least(COMPLETED_MARGIN + profile.history_pairs * COMPLETED_MARGIN_PER_PAIR)
    failures: list[str] = []
    timeout = profile.match_timeout_seconds + (slot - datetime.now(UTC)).total_seconds()
    gate = asyncio.Semaphore(PARALLEL)
    pairs = _pairs(ctx, profile, "completed", slot)

    async def book(pair: tuple[Booking, Booking]) -> None:
        async with gate:
            if await _book_and_match(ctx, profile, pair) is None:
                failures.append("not booked or not matched in time")

    await asyncio.gather(*map(book, pairs))
    # Partners may still be swapped once the slot goes quiet: read the sessions after that.
    await asyncio.sleep(ctx.target.settings.rearrange_after_quiet_seconds + 2)
    sessions = {}
    for pair in pairs:  # every session seats one of the pairs' first users
        for session in await ctx.api.sessions(pair[0].user_id):
            if session["status"] == "scheduled":
                sessions[session["id"]] = (
                    session["participant_one_id"],
                    session["participant_two_id"],
                )
    progress = bar(len(sessions), "history: completed sessions")

    async def live(session_id: str, people: tuple[str, str]) -> str | None:
        for user in people:
            refusal = await ctx.api.join(user, session_id)
            if refusal is not None:
                failures.append(f"join refused: {refusal}")
                return None
        if not await ctx.api.wait_for_status(people[0], session_id, "active", timeout):
            failures.append("never active")
            return None
        refusal = await ctx.api.end(people[0], session_id)
        if refusal is not None:
            failures.append(f"end refused: {refusal}")
            return None
        done = await ctx.api.wait_for_status(people[0], session_id, "completed", timeout)
        progress.update()
        if not done:
            failures.append("never completed")
        return session_id if done else None

    found = await asyncio.gather(*(live(*each) for each in sessions.items()))
    progress.close()
    await asyncio.sleep(2)  # let the session workflows close, so their histories are whole
    return [session_id for session_id in found if session_id], failures
