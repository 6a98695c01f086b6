"""Who a pass keeps apart or serves last: blocked pairs are never paired, whatever the window,
and unreliable users are served after everyone else, never at the cost of a pair."""

from domain.levels import Level
from domain.matching import can_pair, pair_pool, preference_key
from tests.domain.test_windows import english, ids, rules, spanish

# Blocks


def test_a_blocked_pair_is_never_paired_even_when_it_is_the_only_possible_pair():
    a = english("a", user_id="ann")
    b = spanish("b", user_id="bob")
    for block in (frozenset({"ann", "bob"}), frozenset({"bob", "ann"})):
        blocked = rules(blocked=frozenset({block}))
        assert not can_pair(a, b, blocked) and not can_pair(b, a, blocked)
        assert pair_pool([a, b], blocked) == []
        assert pair_pool([b, a], blocked) == []


def test_a_block_only_keeps_those_two_apart():
    a = english("a", user_id="ann", waited_minutes=5)
    b = spanish("b", user_id="bob", waited_minutes=5)
    c = english("c", user_id="cat")
    d = spanish("d", user_id="dan")
    blocked = rules(blocked=frozenset({frozenset({"ann", "bob"})}))
    assert sorted(ids(pair_pool([a, b, c, d], blocked))) == [("a", "d"), ("b", "c")]


# Unreliable users


def test_an_unreliable_user_ranks_after_every_reliable_one_whatever_the_priority():
    unreliable = frozenset({"user-late"})
    late = english("late", priority=1, waited_minutes=60)
    reliable = english("reliable", priority=0)
    assert preference_key(late, unreliable) > preference_key(reliable, unreliable)
    assert preference_key(late) < preference_key(reliable)


def test_an_unreliable_user_is_served_after_a_reliable_one_when_only_one_can_be():
    late = english("late", waited_minutes=60)
    reliable = english("reliable")
    partner = spanish("partner", waited_minutes=30)
    pool = [late, reliable, partner]
    assert ids(pair_pool(pool, rules())) == [("late", "partner")]
    assert ids(pair_pool(pool, rules(unreliable=frozenset({"user-late"})))) == [
        ("partner", "reliable")
    ]


def test_an_unreliable_user_never_costs_a_pair():
    # Only the unreliable request fits the second partner: it is paired, not refused.
    late = english("late", Level.ADVANCED)
    reliable = english("reliable", Level.INTERMEDIATE)
    wide = spanish("wide", Level.UPPER_INTERMEDIATE)
    narrow = spanish("narrow", Level.ELEMENTARY)
    pairs = pair_pool([late, reliable, wide, narrow], rules(unreliable=frozenset({"user-late"})))
    assert {frozenset(pair) for pair in ids(pairs)} == {
        frozenset({"reliable", "narrow"}),
        frozenset({"wide", "late"}),
    }


def test_a_priority_one_request_of_a_reliable_user_is_served_before_an_unreliable_one():
    late = english("late", priority=1, waited_minutes=60)
    let_down = english("let-down", priority=1)
    partner = spanish("partner")
    pairs = pair_pool([late, let_down, partner], rules(unreliable=frozenset({"user-late"})))
    assert ids(pairs) == [("let-down", "partner")]
