import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.levels import Level, level_distance
from domain.matching import MatchRules, Pair, can_pair, earliest_common_slot
from domain.rearranging import Rearrangement, Seated, rearrange
from domain.requests import MatchRequest
from tests.domain.cross_checks import compatibility_graph
from tests.domain.test_windows import at, english, rules, spanish
from tests.domain.test_windows_oracle import window_pools


def seat(session_id: str, first: MatchRequest, second: MatchRequest, r: MatchRules) -> Seated:
    slot = earliest_common_slot(first, second, r)
    assert slot is not None
    return Seated(session_id, Pair(first=first, second=second, scheduled_start=slot))


def seated_requests(seats: list[Seated]) -> list[MatchRequest]:
    """The seated requests, windows and all: a swap may move them to another slot of theirs."""
    return [c for s in seats for c in (s.pair.first, s.pair.second)]


def after(rearrangement: Rearrangement, before: list[Seated]) -> list[Pair]:
    kept = [s.pair for s in before if s.session_id not in rearrangement.dissolved]
    return kept + list(rearrangement.pairs)


def request_ids(pairs: list[Pair]) -> list[str]:
    return [c.request_id for pair in pairs for c in (pair.first, pair.second)]


# Examples


def test_a_swap_may_move_a_seated_request_to_another_slot_of_its_window():
    # en-b1 is seated with es-b2 at 18:00; en-b1 with es-a2 at 18:30 and es-b2 with en-c1 at
    # 18:00 seat all four, so en-b1 moves to 18:30, still inside its window.
    english_b1 = english("en-b1", Level.INTERMEDIATE, start=at(0), end=at(60))
    spanish_b2 = spanish("es-b2", Level.UPPER_INTERMEDIATE, start=at(0), end=at(60))
    spanish_a2 = spanish("es-a2", Level.ELEMENTARY, start=at(30))
    english_c1 = english("en-c1", Level.ADVANCED, start=at(0))
    early = seat("s-1", english_b1, spanish_b2, rules())
    assert early.pair.scheduled_start == at(0)
    result = rearrange([spanish_a2, english_c1], [early], rules())
    assert result.dissolved == ("s-1",)
    assert {(frozenset(request_ids([p])), p.scheduled_start) for p in result.pairs} == {
        (frozenset({"en-b1", "es-a2"}), at(30)),
        (frozenset({"es-b2", "en-c1"}), at(0)),
    }


def test_a_swap_within_the_sessions_slot_keeps_the_slot_and_new_pairs_take_theirs():
    english_b1 = english("en-b1", Level.INTERMEDIATE, start=at(0), end=at(60))
    spanish_b2 = spanish("es-b2", Level.UPPER_INTERMEDIATE, start=at(0), end=at(60))
    spanish_a2 = spanish("es-a2", Level.ELEMENTARY, start=at(-30), end=at(0))
    english_c1 = english("en-c1", Level.ADVANCED, start=at(0), end=at(90))
    early = seat("s-1", english_b1, spanish_b2, rules())

    result = rearrange([spanish_a2, english_c1], [early], rules(now=at(-25)))

    assert result.dissolved == ("s-1",)
    assert {(frozenset(request_ids([p])), p.scheduled_start) for p in result.pairs} == {
        (frozenset({"en-b1", "es-a2"}), at(0)),
        (frozenset({"es-b2", "en-c1"}), at(0)),
    }
    # The pairs carry the requests as given, windows and all.
    assert english_b1 in {c for p in result.pairs for c in (p.first, p.second)}


def test_two_waiting_requests_pair_at_their_earliest_common_slot():
    result = rearrange(
        [english("en", start=at(0), end=at(40)), spanish("es", start=at(20), end=at(60))],
        [],
        rules(),
    )
    assert [p.scheduled_start for p in result.pairs] == [at(20)]


def test_a_swap_that_would_seat_a_blocked_pair_is_not_made():
    english_b1 = english("en-b1", Level.INTERMEDIATE, user_id="ann")
    spanish_b2 = spanish("es-b2", Level.UPPER_INTERMEDIATE)
    spanish_a2 = spanish("es-a2", Level.ELEMENTARY, user_id="bob")
    english_c1 = english("en-c1", Level.ADVANCED)
    early = seat("s-1", english_b1, spanish_b2, rules())
    blocked = rules(blocked=frozenset({frozenset({"bob", "ann"})}))
    assert rearrange([spanish_a2, english_c1], [early], blocked) == Rearrangement()
    assert rearrange([spanish_a2, english_c1], [early], rules()).dissolved == ("s-1",)


def test_a_swap_may_pair_two_levels_apart_once_widened():
    english_b1 = english("en-b1", Level.INTERMEDIATE)
    spanish_b2 = spanish("es-b2", Level.UPPER_INTERMEDIATE)
    spanish_a1 = spanish("es-a1", Level.BEGINNER)
    english_c1 = english("en-c1", Level.ADVANCED)
    early = seat("s-1", english_b1, spanish_b2, rules())
    assert rearrange([spanish_a1, english_c1], [early], rules(now=at(-20))) == Rearrangement()
    widened = rules(now=at(-20), widen_levels_minutes=30)
    assert rearrange([spanish_a1, english_c1], [early], widened).dissolved == ("s-1",)


# Properties, against networkx on random pools with windows, blocks and widening


@st.composite
def windowed_seatings(draw: st.DrawFn) -> tuple[list[Seated], list[MatchRequest], MatchRules]:
    """Seat the first half of a random pool one by one, each with its most distant possible
    partner (a maximal matching, often not a maximum one); the rest waits."""
    pool, match_rules = draw(window_pools())
    split = draw(st.integers(0, len(pool)))
    early, late = pool[:split], pool[split:]
    seats: list[Seated] = []
    taken: set[str] = set()
    for one in early:
        if one.request_id in taken:
            continue
        partners = [t for t in early if t.request_id not in taken and can_pair(one, t, match_rules)]
        if partners:
            two = max(partners, key=lambda t: level_distance(one.level, t.level))
            seats.append(seat(f"s-{len(seats)}", one, two, match_rules))
            taken |= {one.request_id, two.request_id}
    waiting = [c for c in early if c.request_id not in taken] + late
    return seats, waiting, match_rules


@settings(deadline=None, max_examples=400)
@given(windowed_seatings())
def test_after_rearranging_windows_everyone_seated_stays_and_the_matching_is_maximum(
    case: tuple[list[Seated], list[MatchRequest], MatchRules],
):
    seats, waiting, match_rules = case
    result = rearrange(waiting, seats, match_rules)
    pairs = after(result, seats)

    everyone = request_ids(pairs)
    assert len(everyone) == len(set(everyone))
    assert set(request_ids([s.pair for s in seats])) <= set(everyone)
    as_seen = {c.request_id: c for c in seated_requests(seats) + waiting}
    for p in result.pairs:
        one, two = as_seen[p.first.request_id], as_seen[p.second.request_id]
        assert can_pair(one, two, match_rules)
        assert p.scheduled_start == earliest_common_slot(one, two, match_rules)
        assert not match_rules.are_blocked(one.user_id, two.user_id)
    graph = compatibility_graph(seated_requests(seats) + waiting, match_rules)
    # The seated pairs were allowed when seated: count them as edges too.
    index = {c.request_id: n for n, c in enumerate(seated_requests(seats) + waiting)}
    graph.add_edges_from(
        (index[s.pair.first.request_id], index[s.pair.second.request_id]) for s in seats
    )
    assert len(pairs) == len(nx.max_weight_matching(graph, maxcardinality=True))


@settings(deadline=None, max_examples=200)
@given(windowed_seatings(), st.randoms(use_true_random=False))
def test_rearranging_windows_does_not_depend_on_the_order_and_dissolves_only_changed_sessions(
    case: tuple[list[Seated], list[MatchRequest], MatchRules], rng: object
):
    seats, waiting, match_rules = case
    result = rearrange(waiting, seats, match_rules)
    shuffled_seats, shuffled_waiting = list(seats), list(waiting)
    rng.shuffle(shuffled_seats)  # type: ignore[attr-defined]
    rng.shuffle(shuffled_waiting)  # type: ignore[attr-defined]
    assert rearrange(shuffled_waiting, shuffled_seats, match_rules) == result
    before = {frozenset(request_ids([s.pair])): s.session_id for s in seats}
    now = {frozenset(request_ids([pair])) for pair in after(result, seats)}
    assert set(result.dissolved) == {sid for pair, sid in before.items() if pair not in now}
