"""Why the hot window fell short of the offline maximum, where it did: per language pair, the
pairs made and possible, and the shortest rearrangement that would have seated one more pair."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bench.context import BenchContext
from domain.matching import MatchRules, Pair, can_pair, earliest_common_slot, language_pair
from domain.requests import MatchRequest

# Requests left alone whose shortest augmenting path is looked for, per language pair short of
# the maximum (each search is quadratic in the language pair's requests).
STARTS_TRIED = 5


def shard_of(request: MatchRequest) -> str:
    """A request's language pair, `a-b`."""
    return "-".join(language_pair(request.native_language_id, request.learning_language_id))


def by_shard(firsts: Iterable[MatchRequest]) -> dict[str, int]:
    """Pairs (given by their first request) counted by language pair."""
    found: dict[str, int] = defaultdict(int)
    for request in firsts:
        found[shard_of(request)] += 1
    return dict(found)


def augmenting_path(
    pool: list[MatchRequest], made: list[tuple[str, str, datetime]], start: str, rules: MatchRules
) -> list[tuple[str, datetime, str]]:
    """A shortest path from `start` (seated by no pair of `made`) that alternates a pair the
    rules allow and one of `made`, ending at another request `made` left alone: swapping along
    it seats one more pair (Berge). Each step is (request, slot, request); [] if there is none,
    so `made` is maximum for `start`. Breadth first; a shard's graph is bipartite."""
    requests = {request.request_id: request for request in pool}
    partner = {a: (b, slot) for x, y, slot in made for a, b in ((x, y), (y, x))}
    came_from: dict[str, tuple[str, datetime, str, datetime] | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for here in frontier:
            for there, request in requests.items():
                slot = earliest_common_slot(requests[here], request, rules)
                if there == start or slot is None or not can_pair(requests[here], request, rules):
                    continue
                if there not in partner:
                    path = [(here, slot, there)]
                    step = came_from[here]
                    while step is not None:
                        back, allowed_at, seated, seated_at = step
                        path[:0] = [(back, allowed_at, seated), (seated, seated_at, here)]
                        here, step = back, came_from[back]
                    return path
                onward, seated_at = partner[there]
                if onward not in came_from:
                    came_from[onward] = (here, slot, there, seated_at)
                    following.append(onward)
        frontier = following
    return []


async def short_shards(
    ctx: BenchContext,
    possible: dict[str, int],
    made: dict[str, int],
    pool: dict[str, MatchRequest],
    covered: list[str],
    match_rules: MatchRules,
    users: str,
) -> dict[str, Any]:
    """The language pairs whose pairs made differ from the offline maximum, each with the
    shortest rearrangement that would seat one more pair, for whoever looks into why."""
    short: dict[str, dict[str, Any]] = {
        shard: {"made": made.get(shard, 0), "possible": count, "augmenting_paths": []}
        for shard, count in sorted(possible.items())
        if made.get(shard, 0) != count
    }
    if not short:
        return short
    seated = [
        (one, two, slot)
        for one, two, slot in await ctx.rows(
            "SELECT match_request_one_id::text, match_request_two_id::text, scheduled_start"
            " FROM sessions WHERE participant_one_id LIKE :users"
            " AND cancel_reason IS DISTINCT FROM 'rearranged'",
            users=users,
        )
    ]
    paired = {request for one, two, _ in seated for request in (one, two)}
    shards: dict[str, list[MatchRequest]] = defaultdict(list)
    for request in pool.values():
        shards[shard_of(request)].append(request)
    for request_id in covered:  # left alone by the matchmaker, seated by the offline maximum
        request = pool[request_id]
        figures = short.get(shard_of(request))
        if request_id in paired or figures is None or figures["augmenting_paths"]:
            continue
        figures["starts_tried"] = figures.get("starts_tried", 0) + 1
        if figures["starts_tried"] > STARTS_TRIED:
            continue
        path = augmenting_path(shards[shard_of(request)], seated, request_id, match_rules)
        if path:
            figures["augmenting_paths"].append(
                [
                    f"{_describe(pool[a])} ={'may pair' if i % 2 == 0 else 'seated'} {slot:%H:%M}= "
                    f"{_describe(pool[b])}"
                    for i, (a, slot, b) in enumerate(path)
                ]
            )
    return short


def covered(best: list[Pair]) -> list[str]:
    """The requests a matching seats."""
    return [request.request_id for pair in best for request in (pair.first, pair.second)]


def _describe(request: MatchRequest) -> str:
    """`<id prefix> <native> <level> <window>`."""
    return (
        f"{request.request_id[:8]} {request.native_language_id} {request.proficiency_level} "
        f"{request.availability_start:%H:%M}-{request.last_start:%H:%M}"
    )
