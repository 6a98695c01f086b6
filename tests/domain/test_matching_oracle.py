"""Pairing's properties against an exact oracle: networkx's blossom algorithm on the explicit
compatibility graph, over pools drawn by hypothesis."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.levels import Level, level_distance
from domain.matching import can_pair, language_pair, pair_pool, preference_key
from domain.requests import MatchRequest
from tests.domain import cross_checks
from tests.domain.test_matching import EARLY, RULES, THREE_PM, served

T = TypeVar("T")
LANGUAGES = ["english", "spanish", "french"]
SLOTS = [THREE_PM, THREE_PM + timedelta(minutes=10)]
USERS = ["u0", "u1", "u2", "u3", "u4", "u5"]
LEVELS = list(Level)


# Every attribute is a small choice; a candidate is drawn as one integer and decoded, which
# keeps generation cheap enough for hundreds of examples a second.
COMBINATIONS = len(USERS) * len(LANGUAGES) ** 2 * len(LEVELS) * 2 * 4 * len(SLOTS) * 2


def decode(request_id: str, code: int) -> MatchRequest:
    def pick(options: Sequence[T]) -> T:
        nonlocal code
        code, index = divmod(code, len(options))
        return options[index]

    return MatchRequest(
        request_id=request_id,
        user_id=pick(USERS),
        native_language_id=pick(LANGUAGES),
        learning_language_id=pick(LANGUAGES),
        proficiency_level=pick(LEVELS),
        priority=pick([0, 1]),
        created_at=EARLY + timedelta(minutes=pick([0, 1, 2, 3])),
        availability_start=pick(SLOTS),
        preferred_duration_minutes=pick([30, 60]),
    )


@st.composite
def pools(draw: st.DrawFn) -> list[MatchRequest]:
    codes = draw(st.lists(st.integers(0, COMBINATIONS - 1), max_size=24))
    # Shuffled ids, so that the id tie-break does not simply follow the order of the list.
    request_ids = draw(st.permutations([f"r{i:02d}" for i in range(len(codes))]))
    return [decode(request_id, code) for request_id, code in zip(request_ids, codes, strict=True)]


# Pools concentrated on one slot and one language pair, so that the graph is dense.
dense_pools = pools().map(
    lambda pool: [
        replace(
            c,
            native_language_id=LANGUAGES[i % 2],
            learning_language_id=LANGUAGES[1 - i % 2],
            availability_start=THREE_PM,
            preferred_duration_minutes=60,
        )
        for i, c in enumerate(pool)
    ]
)


any_pool = st.one_of(pools(), dense_pools)


oracle_settings = settings(deadline=None, max_examples=300)


def compatibility_graph(pool: list[MatchRequest]) -> nx.Graph:
    return cross_checks.compatibility_graph(pool, RULES)


def oracle_best_served(pool: list[MatchRequest]) -> set[str]:
    # Vertex weights 2**(n - rank) are distinct powers of two, so the heaviest matching covers
    # the lexicographically best coverable set; integer weights keep networkx exact.
    graph = compatibility_graph(pool)
    ranked = sorted(range(len(pool)), key=lambda i: preference_key(pool[i]))
    weight = {vertex: 2 ** (len(pool) - rank) for rank, vertex in enumerate(ranked)}
    for i, j in graph.edges:
        graph[i][j]["weight"] = weight[i] + weight[j]
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return {pool[v].request_id for edge in matching for v in edge}


def oracle_least_level_distance(pool: list[MatchRequest], covered: set[str]) -> int:
    # On the covered requests, a perfect matching of weight 10 - distance per pair is heaviest
    # exactly when its total distance is least.
    graph = compatibility_graph(pool).subgraph(
        i for i, c in enumerate(pool) if c.request_id in covered
    )
    graph = nx.Graph(graph)
    for i, j in graph.edges:
        graph[i][j]["weight"] = 10 - level_distance(pool[i].level, pool[j].level)
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    assert 2 * len(matching) == len(covered)
    return sum(level_distance(pool[i].level, pool[j].level) for i, j in matching)


@oracle_settings
@given(any_pool)
def test_every_pair_is_allowed_and_no_request_is_used_twice(pool: list[MatchRequest]):
    pairs = pair_pool(pool, RULES)
    assert all(can_pair(pair.first, pair.second, RULES) for pair in pairs)
    assert len(served(pairs)) == 2 * len(pairs)


@oracle_settings
@given(any_pool)
def test_the_number_of_pairs_is_the_maximum_possible(pool: list[MatchRequest]):
    maximum = nx.max_weight_matching(compatibility_graph(pool), maxcardinality=True)
    assert len(pair_pool(pool, RULES)) == len(maximum)


@oracle_settings
@given(any_pool)
def test_the_requests_served_are_the_best_ranked_that_any_matching_can_serve(
    pool: list[MatchRequest],
):
    assert served(pair_pool(pool, RULES)) == oracle_best_served(pool)


@oracle_settings
@given(any_pool)
def test_the_total_level_distance_is_the_least_for_the_requests_served(pool: list[MatchRequest]):
    pairs = pair_pool(pool, RULES)
    total = sum(level_distance(pair.first.level, pair.second.level) for pair in pairs)
    assert total == oracle_least_level_distance(pool, served(pairs))


@settings(deadline=None, max_examples=200)
@given(any_pool)
def test_pairing_each_language_pair_apart_makes_as_many_pairs_as_pairing_the_whole_pool(
    pool: list[MatchRequest],
):
    shards: dict[tuple[str, str], list[MatchRequest]] = {}
    for candidate in pool:
        key = language_pair(candidate.native_language_id, candidate.learning_language_id)
        shards.setdefault(key, []).append(candidate)
    assert sum(len(pair_pool(shard, RULES)) for shard in shards.values()) == len(
        pair_pool(pool, RULES)
    )


@given(any_pool, st.randoms(use_true_random=False))
def test_the_pairs_do_not_depend_on_the_order_of_the_pool(pool: list[MatchRequest], rng):
    shuffled = list(pool)
    rng.shuffle(shuffled)
    assert pair_pool(shuffled, RULES) == pair_pool(pool, RULES)


@settings(deadline=None, max_examples=200)
@given(any_pool)
def test_pairs_come_best_ranked_first_and_each_led_by_its_better_ranked_request(
    pool: list[MatchRequest],
):
    pairs = pair_pool(pool, RULES)
    firsts = [preference_key(pair.first) for pair in pairs]
    assert firsts == sorted(firsts)
    assert all(preference_key(p.first) < preference_key(p.second) for p in pairs)
