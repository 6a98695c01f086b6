"""Seating more people by swapping partners between sessions that have not begun.

Pairs are made as requests arrive, so a pair made early can block two later requests that could
each have paired with one of its members: English B1 seated with Spanish B2 leaves a later
Spanish A2 and English C1 alone, though A2 with B1 and B2 with C1 would seat all four. A
matching is maximum exactly when no augmenting path is left (Berge), so following those paths
through the seated pairs brings a slot to the most pairs its requests allow, while everyone
already seated keeps a seat (perhaps with another partner).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.levels import level_rank
from domain.matching import (
    MatchRules,
    Pair,
    can_pair,
    check_pairable,
    earliest_common_slot,
    preference_key,
)
from domain.requests import MatchRequest


@dataclass(frozen=True)
class Seated:
    """A pair seated in a session nobody has joined yet, so its partners may still change."""

    session_id: str
    pair: Pair


@dataclass(frozen=True)
class Rearrangement:
    """Sessions to dissolve, and the pairs that seat their people and more waiting ones."""

    dissolved: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()


def rearrange(
    waiting: Sequence[MatchRequest], seated: Sequence[Seated], rules: MatchRules
) -> Rearrangement:
    """Seat as many of `waiting` as augmenting paths through `seated` allow.

    A seated request may be paired anew at any bookable slot of its window, as a waiting one
    can (a pair left as it was keeps its session and slot): a swap may move a seated person to
    another slot, which an offline maximum matching of the windows may need. Edges are
    `can_pair` under `rules` on the windows, so blocked users are never put together. Exactly:
    1. every request of `seated` is seated afterwards, and no request is seated twice;
    2. the seated pairs kept plus `pairs` form a maximum matching of all the requests given;
    3. waiting requests are tried best first (`preference_key`), each along a shortest
       augmenting path, so that few sessions change;
    4. `dissolved` is exactly the seated sessions whose pair changed, and `pairs` the pairs
       that are new, each at its `earliest_common_slot`; both are empty when no one more can
       be seated.

    Runs in O(n) per waiting request for n requests in all (a search visits each at most once).
    """
    mate: dict[str, str] = {}
    for s in seated:
        mate[s.pair.first.request_id] = s.pair.second.request_id
        mate[s.pair.second.request_id] = s.pair.first.request_id
    everyone = [c for s in seated for c in (s.pair.first, s.pair.second)] + list(waiting)
    for request in everyone:
        check_pairable(request)
    original = {request.request_id: request for request in everyone}
    graph = _Graph(everyone, rules)
    key = _ranking(rules)
    for start in sorted(waiting, key=key):
        if start.request_id in mate:
            continue  # seated by an earlier path of this call
        path = graph.shortest_augmenting_path(start, mate)
        for one, two in zip(path[::2], path[1::2], strict=True):
            mate[one], mate[two] = two, one

    dissolved = tuple(
        sorted(
            s.session_id
            for s in seated
            if mate[s.pair.first.request_id] != s.pair.second.request_id
        )
    )
    kept = {
        c.request_id
        for s in seated
        if s.session_id not in dissolved
        for c in (s.pair.first, s.pair.second)
    }
    pairs = []
    for one_id, two_id in mate.items():
        if one_id in kept or one_id > two_id:
            continue  # unchanged, or the same pair seen from its other end
        slot = earliest_common_slot(graph.request(one_id), graph.request(two_id), rules)
        if slot is None:
            raise AssertionError("an augmenting path used two requests with no common slot")
        first, second = sorted((original[one_id], original[two_id]), key=key)
        pairs.append(Pair(first=first, second=second, scheduled_start=slot))
    pairs.sort(key=lambda pair: key(pair.first))
    return Rearrangement(dissolved=dissolved, pairs=tuple(pairs))


def _ranking(rules: MatchRules) -> Callable[[MatchRequest], tuple[bool, int, datetime, str]]:
    return lambda request: preference_key(request, rules.unreliable)


class _Graph:
    """Requests by language direction and level: a request's possible partners sit in at most
    three buckets (its reverse direction, at its level and the two next to it). Buckets keep
    preference order, never a set's: a workflow replaying this in another process must find the
    very same paths."""

    def __init__(self, requests: Iterable[MatchRequest], rules: MatchRules) -> None:
        self._rules = rules
        # Levels two steps apart may meet once widening is on.
        self._reach = 2 if rules.widen_levels_minutes > 0 else 1
        self._by_id: dict[str, MatchRequest] = {}
        self._buckets: dict[tuple[str, str, int], list[str]] = {}
        for r in sorted(requests, key=_ranking(rules)):
            self._by_id[r.request_id] = r
            key = (r.native_language_id, r.learning_language_id, level_rank(r.level))
            self._buckets.setdefault(key, []).append(r.request_id)

    def request(self, request_id: str) -> MatchRequest:
        """The request with this id."""
        return self._by_id[request_id]

    def shortest_augmenting_path(self, start: MatchRequest, mate: dict[str, str]) -> list[str]:
        """Request ids from unseated `start` to another unseated request, alternating new and
        existing pairs (breadth first, so the shortest); empty when there is none."""
        # Insertion-ordered dicts used as ordered sets.
        unvisited = {key: dict.fromkeys(ids) for key, ids in self._buckets.items()}
        unvisited_in = self._bucket_keys_near
        came_from: dict[str, str] = {}
        self._take(unvisited, start)
        frontier = deque([start])
        while frontier:
            here = frontier.popleft()
            for key in unvisited_in(here):
                for there_id in list(unvisited.get(key, ())):
                    there = self._by_id[there_id]
                    if not can_pair(here, there, self._rules):
                        continue
                    self._take(unvisited, there)
                    came_from[there_id] = here.request_id
                    if there_id not in mate:
                        return _walk_back(there_id, came_from)
                    onward = self._by_id[mate[there_id]]
                    self._take(unvisited, onward)
                    came_from[onward.request_id] = there_id
                    frontier.append(onward)
        return []

    def _bucket_keys_near(self, request: MatchRequest) -> list[tuple[str, str, int]]:
        rank = level_rank(request.level)
        reverse = (request.learning_language_id, request.native_language_id)
        return [(*reverse, near) for near in range(rank - self._reach, rank + self._reach + 1)]

    @staticmethod
    def _take(
        unvisited: dict[tuple[str, str, int], dict[str, None]], request: MatchRequest
    ) -> None:
        key = (request.native_language_id, request.learning_language_id, level_rank(request.level))
        unvisited.get(key, {}).pop(request.request_id, None)


def _walk_back(end: str, came_from: dict[str, str]) -> list[str]:
    path = [end]
    while path[-1] in came_from:
        path.append(came_from[path[-1]])
    return path[::-1]
