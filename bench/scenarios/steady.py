"""Scenario 2: reciprocal requests over many slots and language pairs, as fast as possible
(the maximum rate) and then at a fixed half of it, with the latency of every match."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.api_client import Booked, Booking
from bench.context import LEVELS, BenchContext
from bench.profiles import Profile
from bench.progress import bar
from bench.stats import rate, summary_ms

# Slots a few hours ahead: no timer of this scenario comes due while the benchmark runs.
FIRST_SLOT_DELAY = timedelta(hours=3)


@dataclass
class LoadRecord:
    """Everything one phase observed."""

    began: float
    posts: list[Booked] = field(default_factory=list)
    match_seconds: list[float] = field(default_factory=list)
    matched_at: list[float] = field(default_factory=list)
    unmatched: int = 0
    session_ids: list[str] = field(default_factory=list)
    # Pairs not watched through the API: (a user of the pair, when both were answered).
    unwatched: list[tuple[str, float]] = field(default_factory=list)

    cost_per_request: dict[str, Any] = field(default_factory=dict)

    def figures(self, floor_rate: float | None) -> dict[str, Any]:
        """Rates and latencies of the phase."""
        accepted = [post for post in self.posts if post.status_code == 201]
        refused = [post for post in self.posts if post.status_code != 201]
        last_answer = max((post.answered_at for post in accepted), default=self.began)
        last_match = max(self.matched_at, default=self.began)
        matched_requests = 2 * len(self.match_seconds)
        end_to_end = rate(matched_requests, last_match - self.began)
        figures: dict[str, Any] = {
            "requests_sent": len(self.posts),
            "accepted": len(accepted),
            "refused": len(refused),
            "refusals": sorted({f"{post.status_code} {post.error}" for post in refused})[:5],
            "accepted_per_second": rate(len(accepted), last_answer - self.began),
            "matched_requests_per_second": end_to_end,
            "pairs_matched": len(self.match_seconds),
            "pairs_unmatched": self.unmatched,
            "post_latency": summary_ms([post.seconds for post in accepted]),
            "match_latency": summary_ms(self.match_seconds),
            "cost_per_request": self.cost_per_request,
        }
        if floor_rate:
            figures["matched_per_second_vs_floor"] = round(end_to_end / floor_rate, 3)
        return figures


class PairFeed:
    """Reciprocal pairs spread over `slots` slots and `language_pairs` language pairs."""

    def __init__(self, ctx: BenchContext, scenario: str, slots: int, language_pairs: int) -> None:
        self._ctx = ctx
        self._scenario = scenario
        first = ctx.slot_at_least(FIRST_SLOT_DELAY)
        step = timedelta(minutes=ctx.slot_minutes * 17)  # spread across the day, on the grid
        self._slots = [first + i * step for i in range(slots)]
        self._pairs = ctx.language_pairs(language_pairs)

    def next(self) -> tuple[Booking, Booking]:
        """The next pair of reciprocal bookings."""
        rng = self._ctx.rng
        slot: datetime = rng.choice(self._slots)
        return self._ctx.reciprocal(
            self._scenario, rng.choice(self._pairs), slot, rng.choice(LEVELS)
        )


async def _watch(
    ctx: BenchContext, record: LoadRecord, second: Booked, both_answered: float, timeout: float
) -> None:
    seen = await ctx.api.wait_for_session(second.booking.user_id, timeout)
    if seen is None:
        record.unmatched += 1
        return
    at, session_id = seen
    record.match_seconds.append(at - both_answered)
    record.matched_at.append(at)
    record.session_ids.append(session_id)


async def _book_pair(
    ctx: BenchContext,
    record: LoadRecord,
    pair: tuple[Booking, Booking],
    watchers: set[Any] | None,
    timeout: float,
    stagger: float = 0.0,
) -> None:
    """Book both halves of a pair; watch for its session through the API (`watchers`), or
    leave it for `_read_matches` (None)."""
    first_task = asyncio.ensure_future(ctx.api.book(pair[0]))
    if stagger:
        await asyncio.sleep(stagger)
    second = await ctx.api.book(pair[1])
    first = await first_task
    record.posts += [first, second]
    if first.status_code == 201 and second.status_code == 201:
        both = max(first.answered_at, second.answered_at)
        if watchers is None:
            record.unwatched.append((second.booking.user_id, both))
            return
        watcher = asyncio.ensure_future(_watch(ctx, record, second, both, timeout))
        watchers.add(watcher)
        watcher.add_done_callback(watchers.discard)
    else:
        record.unmatched += 1


async def _read_matches(ctx: BenchContext, record: LoadRecord, timeout: float) -> None:
    """When each unwatched pair's session was made, read from Postgres (its `created_at`, the
    pass's time) once the phase's bookings are done: polling `GET /v1/sessions` every 25 ms per
    pair, as the half rate does, would spend the very CPU the maximum rate measures."""
    wall_minus_monotonic = time.time() - time.monotonic()
    users = [user for user, _ in record.unwatched]
    wanted = set(users)
    found: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + timeout
    while not found.keys() >= wanted and time.monotonic() < deadline:
        rows = await ctx.rows(
            "SELECT participant_one_id, participant_two_id, id::text,"
            " extract(epoch FROM created_at)::float8 FROM sessions"
            " WHERE participant_one_id = ANY(:users) OR participant_two_id = ANY(:users)",
            users=users,
        )
        for one, two, session_id, created in rows:
            for user in (one, two):
                found[user] = (session_id, created - wall_minus_monotonic)
        await asyncio.sleep(0.5)
    for user, both_answered in record.unwatched:
        if user not in found:
            record.unmatched += 1
            continue
        session_id, made = found[user]
        # A pass may seat a pair before the API has answered its second booking.
        record.match_seconds.append(max(0.0, made - both_answered))
        record.matched_at.append(made)
        record.session_ids.append(session_id)


async def saturate(ctx: BenchContext, profile: Profile) -> LoadRecord:
    """Closed loop: `saturation_concurrency` users book pair after pair for the phase's length;
    the pairs' sessions are read from Postgres afterwards (`_read_matches`)."""
    feed = PairFeed(ctx, "max", profile.steady_slots, profile.language_pairs)
    before = await ctx.costs.snapshot()
    record = LoadRecord(began=time.monotonic())
    deadline = record.began + profile.saturation_seconds
    progress = bar(None, "steady: maximum rate (requests)")

    async def user() -> None:
        while time.monotonic() < deadline:
            await _book_pair(ctx, record, feed.next(), None, profile.match_timeout_seconds)
            progress.update(2)

    await asyncio.gather(*(user() for _ in range(profile.saturation_concurrency)))
    progress.close()
    await _read_matches(ctx, record, profile.match_timeout_seconds)
    accepted = sum(1 for post in record.posts if post.status_code == 201)
    record.cost_per_request = ctx.costs.per_unit(before, await ctx.costs.snapshot(), accepted)
    return record


async def at_rate(ctx: BenchContext, profile: Profile, requests_per_second: float) -> LoadRecord:
    """Open loop: one request every 1/rate seconds, each pair's second half one interval later."""
    feed = PairFeed(ctx, "steady", profile.steady_slots, profile.language_pairs)
    interval = 1.0 / requests_per_second
    pairs = max(1, int(profile.steady_seconds * requests_per_second / 2))
    record = LoadRecord(began=time.monotonic())
    watchers: set[Any] = set()
    progress = bar(pairs, "steady: half rate (pairs)")
    posting: list[asyncio.Future[None]] = []
    for index in range(pairs):
        due = record.began + 2 * index * interval
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.ensure_future(
            _book_pair(ctx, record, feed.next(), watchers, profile.match_timeout_seconds, interval)
        )
        task.add_done_callback(lambda _: progress.update())
        posting.append(task)
    await asyncio.gather(*posting)
    progress.close()
    await asyncio.gather(*list(watchers))
    return record


async def run(ctx: BenchContext, profile: Profile, floor_rate: float | None) -> dict[str, Any]:
    """The maximum rate, then half of it."""
    maximum = await saturate(ctx, profile)
    top = maximum.figures(floor_rate)
    half_rate = max(0.5, top["accepted_per_second"] / 2)
    half = await at_rate(ctx, profile, half_rate)
    return {
        "maximum": top,
        "half_rate": {
            "target_requests_per_second": round(half_rate, 2),
            **half.figures(floor_rate),
        },
        "sample_session_ids": (maximum.session_ids + half.session_ids),
    }
