"""Who may practise with whom, and the matchmaker's pairing of a pool of waiting requests."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.class_matching import ClassGraph, best_coverable, cheapest_pairing
from domain.levels import level_rank, levels_compatible
from domain.requests import MatchRequest
from domain.slots import require_aware


@dataclass(frozen=True)
class Pair:
    """Two requests to seat in one session; `first` is the one served first."""

    first: MatchRequest
    second: MatchRequest


def preference_key(candidate: MatchRequest) -> tuple[int, datetime, str]:
    """Sort key serving priority 1 before 0, then the longest waiting, then the smaller id."""
    return (-candidate.priority, candidate.created_at, candidate.request_id)


def check_pairable(request: MatchRequest) -> None:
    """Raise ValueError for a request no pairing can use: an unknown level or a naive time, so
    that it fails before matching starts rather than midway."""
    request.level  # noqa: B018 - raises for an unknown level
    require_aware(request.created_at)
    require_aware(request.availability_start)


def language_pair(native_language_id: str, learning_language_id: str) -> tuple[str, str]:
    """The unordered pair of languages a request exchanges, smaller id first.

    Only requests with the same language pair can ever pair (`can_pair` wants each one's
    native language to be the other's learning language), so a slot's pool splits into
    independent shards by this key without losing a single pair.
    """
    first, second = sorted((native_language_id, learning_language_id))
    return first, second


def can_pair(a: MatchRequest, b: MatchRequest) -> bool:
    """Tell whether two requests may share a session."""
    return (
        a.availability_start == b.availability_start
        and a.preferred_duration_minutes == b.preferred_duration_minutes
        # Someone "learning" their own native language has nobody to exchange with.
        and a.native_language_id != a.learning_language_id
        and a.native_language_id == b.learning_language_id
        and a.learning_language_id == b.native_language_id
        and a.user_id != b.user_id
        and levels_compatible(a.level, b.level)
    )


def pair_pool(pool: Sequence[MatchRequest]) -> list[Pair]:
    """Pair the pool: most pairs, then the best-served requests, then the closest levels.

    Let G be the graph on the pool whose edges join the candidates that `can_pair`, and rank
    candidates by `preference_key`. The result is a matching M of G such that, exactly:

    1. every pair satisfies `can_pair` and no request appears in two pairs;
    2. M has maximum cardinality among all matchings of G;
    3. the set of matched requests is the lexicographically best set any matching of G can
       cover: against any other matching, the best-ranked request covered by only one of the
       two is covered by M. Hence, among maximum matchings, M serves as many priority-1
       requests as possible, and for every k its k best-ranked requests are served whenever
       any maximum matching serves them all;
    4. among matchings covering exactly that set, M minimises the total level distance;
    5. the output depends only on the pool's contents, not their order, and is sorted by the
       `first` candidate's rank (`first` outranks `second`).

    Candidates pair only within a group (same slot and duration, same two languages), and a
    group is bipartite (side = native language). Within a side, requests of one level are
    interchangeable unless their user also waits on the other side, so the work is done on a
    graph of such classes: about O(n log n) for sorting plus O(n * k^2) for k classes per
    group, with k at most 10 plus 10 per user holding requests on both sides of a group.

    Raises ValueError if two candidates share a request_id.
    """
    seen: set[str] = set()
    for candidate in pool:
        check_pairable(candidate)
        if candidate.request_id in seen:
            raise ValueError(f"request {candidate.request_id!r} appears twice in the pool")
        seen.add(candidate.request_id)

    groups: dict[tuple[str, str, datetime, int], list[MatchRequest]] = {}
    for candidate in sorted(pool, key=preference_key):
        native, learning = candidate.native_language_id, candidate.learning_language_id
        if native == learning:
            continue
        key = (
            min(native, learning),
            max(native, learning),
            candidate.availability_start,
            candidate.preferred_duration_minutes,
        )
        groups.setdefault(key, []).append(candidate)

    pairs = [pair for members in groups.values() for pair in _pair_group(members)]
    return sorted(pairs, key=lambda pair: preference_key(pair.first))


def _pair_group(members: list[MatchRequest]) -> list[Pair]:
    # `members` share slot, duration and language pair, and are already in preference order.
    lower_language = min(members[0].native_language_id, members[0].learning_language_id)
    on_left = [m.native_language_id == lower_language for m in members]
    left_users = {m.user_id for m, left in zip(members, on_left, strict=True) if left}
    right_users = {m.user_id for m, left in zip(members, on_left, strict=True) if not left}
    # Only a user waiting on both sides loses edges (to themselves); everyone else is a twin
    # of every other member of the same side and level.
    both_sides = left_users & right_users

    class_ids: dict[tuple[bool, int, str | None], int] = {}
    class_of: list[int] = []
    for member, left in zip(members, on_left, strict=True):
        user = member.user_id if member.user_id in both_sides else None
        key = (left, level_rank(member.level), user)
        class_of.append(class_ids.setdefault(key, len(class_ids)))
    keys = list(class_ids)
    size = [0] * len(keys)
    for c in class_of:
        size[c] += 1

    neighbours: list[dict[int, int]] = [{} for _ in keys]
    for c, (c_left, c_rank, c_user) in enumerate(keys):
        for d, (d_left, d_rank, d_user) in enumerate(keys):
            same_user = c_user is not None and c_user == d_user
            if c_left and not d_left and abs(c_rank - d_rank) <= 1 and not same_user:
                neighbours[c][d] = neighbours[d][c] = abs(c_rank - d_rank)
    graph = ClassGraph(on_left=[k[0] for k in keys], size=size, neighbours=neighbours)

    kept = best_coverable(graph, class_of)
    chosen_members: list[list[MatchRequest]] = [[] for _ in keys]
    for member, c, keep in zip(members, class_of, kept, strict=True):
        if keep:
            chosen_members[c].append(member)
    remaining = cheapest_pairing(graph, [len(m) for m in chosen_members])
    return _pairs_from_flow(graph, chosen_members, remaining)


def _pairs_from_flow(
    graph: ClassGraph,
    chosen_members: list[list[MatchRequest]],
    remaining: dict[tuple[int, int], int],
) -> list[Pair]:
    # Any split of the class-level flow into pairs has the same cost and covered set; this one
    # walks requests best-first and gives each the best-ranked partner the flow still allows.
    # Members of a class are used front to back, so a class's unpaired members are a suffix.
    order = sorted(
        ((member, c) for c, chosen in enumerate(chosen_members) for member in chosen),
        key=lambda item: preference_key(item[0]),
    )
    next_free = [0] * len(chosen_members)
    pairs: list[Pair] = []
    for member, c in order:
        own = chosen_members[c]
        if next_free[c] == len(own) or own[next_free[c]] is not member:
            continue  # already taken as someone's partner
        next_free[c] += 1
        best: tuple[tuple[int, datetime, str], int, tuple[int, int]] | None = None
        for d in graph.neighbours[c]:
            link = (c, d) if graph.on_left[c] else (d, c)
            if remaining.get(link, 0):
                rank = preference_key(chosen_members[d][next_free[d]])
                if best is None or rank < best[0]:
                    best = (rank, d, link)
        if best is None:
            raise AssertionError("the class-level flow does not cover every chosen request")
        _, d, link = best
        remaining[link] -= 1
        partner = chosen_members[d][next_free[d]]
        next_free[d] += 1
        pairs.append(Pair(first=member, second=partner))
    return pairs
