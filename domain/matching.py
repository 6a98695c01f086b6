"""Who may practise with whom, and the matchmaker's pairing of a pool of waiting requests."""

from collections.abc import Sequence
from datetime import datetime

from domain.class_matching import ClassGraph, best_coverable, cheapest_pairing
from domain.match_rules import (
    MatchRules,
    Pair,
    can_pair,
    check_pairable,
    earliest_common_slot,
    language_pair,
    preference_key,
)
from domain.requests import MatchRequest
from domain.window_classes import Component, components

__all__ = [
    "MatchRules",
    "Pair",
    "can_pair",
    "check_pairable",
    "earliest_common_slot",
    "language_pair",
    "next_widening",
    "pair_pool",
    "preference_key",
]


def pair_pool(pool: Sequence[MatchRequest], rules: MatchRules) -> list[Pair]:
    """Pair the pool: most pairs, then the best-served requests, then the closest levels, then
    the earliest slots.

    Let G be the graph on the pool whose edges join the candidates that `can_pair` under
    `rules`, and rank candidates by `preference_key` (with `rules.unreliable`). The result is a
    matching M of G such that, exactly:

    1. every pair satisfies `can_pair`, carries the pair's `earliest_common_slot`, and no
       request appears in two pairs;
    2. M has maximum cardinality among all matchings of G;
    3. the set of matched requests is the lexicographically best set any matching of G can
       cover: against any other matching, the best-ranked request covered by only one of the
       two is covered by M. Hence, among maximum matchings, M serves as many of the best-ranked
       requests as possible, and for every k its k best-ranked requests are served whenever
       any maximum matching serves them all;
    4. among matchings covering exactly that set, M minimises the total level distance, and
       among those the total of the slots' starts (the earliest sessions);
    5. the output depends only on the pool's contents and the rules, not their order, and is
       sorted by the `first` candidate's rank (`first` outranks `second`).

    Candidates pair only within a group (same duration, same two languages), and a group is
    bipartite (side = native language); a group further splits where no window overlaps the
    next. Within a side, requests of one level and one window are interchangeable unless their
    user also waits on the other side or is in a block across it, so the work is done on a
    graph of such classes: about O(n log n) for sorting plus O(n * k^2) for k classes per
    group (a fixed-slot pool has at most 10 a slot; an evening of 6 slots at most 210).

    Raises ValueError if two candidates share a request_id.
    """
    pairs = [pair for part in _parts(pool, rules) for pair in _pair_component(part)]
    return sorted(pairs, key=lambda pair: preference_key(pair.first, rules.unreliable))


def next_widening(pool: Sequence[MatchRequest], rules: MatchRules) -> datetime | None:
    """The earliest moment after now at which two requests of the pool, kept apart now only by
    being two levels apart, may pair (their earliest common slot minus the widening); None if
    there is no such pair or levels never widen."""
    if rules.widen_levels_minutes <= 0:
        return None
    moments = [
        rules.widens_at(link.slot)
        for part in _parts(pool, rules)
        for link in part.links()
        if link.distance == 2 and not rules.levels_allow(2, link.slot)
    ]
    return min(moments, default=None)


def _parts(pool: Sequence[MatchRequest], rules: MatchRules) -> list[Component]:
    seen: set[str] = set()
    for candidate in pool:
        check_pairable(candidate)
        if candidate.request_id in seen:
            raise ValueError(f"request {candidate.request_id!r} appears twice in the pool")
        seen.add(candidate.request_id)

    groups: dict[tuple[str, str, int], list[MatchRequest]] = {}
    for candidate in sorted(pool, key=lambda c: preference_key(c, rules.unreliable)):
        native, learning = candidate.native_language_id, candidate.learning_language_id
        if native == learning:
            continue
        key = (*language_pair(native, learning), candidate.preferred_duration_minutes)
        groups.setdefault(key, []).append(candidate)
    return [part for members in groups.values() for part in components(members, rules)]


def _pair_component(part: Component) -> list[Pair]:
    # `part.members` are in preference order.
    graph = ClassGraph(on_left=part.on_left, size=part.size, neighbours=part.costs())
    kept = best_coverable(graph, part.class_of)
    chosen_members: list[list[MatchRequest]] = [[] for _ in part.on_left]
    for member, c, keep in zip(part.members, part.class_of, kept, strict=True):
        if keep:
            chosen_members[c].append(member)
    remaining = cheapest_pairing(graph, [len(m) for m in chosen_members])
    return _pairs_from_flow(part, graph, chosen_members, remaining)


def _pairs_from_flow(
    part: Component,
    graph: ClassGraph,
    chosen_members: list[list[MatchRequest]],
    remaining: dict[tuple[int, int], int],
) -> list[Pair]:
    # Any split of the class-level flow into pairs has the same cost and covered set; this one
    # walks requests best-first and gives each the best-ranked partner the flow still allows.
    # Members of a class are used front to back, so a class's unpaired members are a suffix.
    unreliable = part.rules.unreliable
    order = sorted(
        ((member, c) for c, chosen in enumerate(chosen_members) for member in chosen),
        key=lambda item: preference_key(item[0], unreliable),
    )
    next_free = [0] * len(chosen_members)
    pairs: list[Pair] = []
    for member, c in order:
        own = chosen_members[c]
        if next_free[c] == len(own) or own[next_free[c]] is not member:
            continue  # already taken as someone's partner
        next_free[c] += 1
        best: tuple[tuple[bool, int, datetime, str], int, tuple[int, int]] | None = None
        for d in graph.neighbours[c]:
            link = (c, d) if graph.on_left[c] else (d, c)
            if remaining.get(link, 0):
                rank = preference_key(chosen_members[d][next_free[d]], unreliable)
                if best is None or rank < best[0]:
                    best = (rank, d, link)
        if best is None:
            raise AssertionError("the class-level flow does not cover every chosen request")
        _, d, link = best
        remaining[link] -= 1
        partner = chosen_members[d][next_free[d]]
        next_free[d] += 1
        pairs.append(Pair(first=member, second=partner, scheduled_start=part.slot_of(*link)))
    return pairs
