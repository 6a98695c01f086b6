from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.levels import Level
from domain.matching import (
    MatchRules,
    Pair,
    can_pair,
    earliest_common_slot,
    next_widening,
    pair_pool,
)
from domain.requests import MatchRequest
from tests.domain.test_matching import request

SIX_PM = datetime(2025, 7, 27, 18, 0, tzinfo=UTC)
MORNING = datetime(2025, 7, 27, 9, 0, tzinfo=UTC)
MIDNIGHT = datetime(2025, 7, 28, 0, 0, tzinfo=UTC)


def at(minutes: int, start: datetime = SIX_PM) -> datetime:
    return start + timedelta(minutes=minutes)


def english(request_id: str, level: Level = Level.INTERMEDIATE, **kwargs: Any) -> MatchRequest:
    return learner(request_id, "english", "spanish", level, **kwargs)


def spanish(request_id: str, level: Level = Level.INTERMEDIATE, **kwargs: Any) -> MatchRequest:
    return learner(request_id, "spanish", "english", level, **kwargs)


def learner(
    request_id: str,
    native: str,
    learning: str,
    level: Level,
    *,
    start: datetime = SIX_PM,
    end: datetime | None = None,
    user_id: str | None = None,
    priority: int = 0,
    waited_minutes: int = 0,
) -> MatchRequest:
    """A request of the window from `start` to `end`, created `waited_minutes` before MORNING."""
    return request(
        request_id,
        native,
        learning,
        level,
        user_id=user_id,
        priority=priority,
        waited_minutes=waited_minutes,
        availability_start=start,
        availability_end=end,
    )


def rules(**kwargs: Any) -> MatchRules:
    return MatchRules(**{"now": MORNING, **kwargs})


def ids(pairs: Sequence[Pair]) -> list[tuple[str, str]]:
    return [(pair.first.request_id, pair.second.request_id) for pair in pairs]


# Windows and slots


def test_a_fixed_slot_has_its_start_as_its_last_start():
    assert english("a").last_start == SIX_PM
    assert english("a", end=at(60)).last_start == at(60)


def test_windows_that_overlap_pair_at_their_earliest_common_slot():
    a = english("a", start=at(0), end=at(60), waited_minutes=1)
    b = spanish("b", start=at(30), end=at(120))
    assert earliest_common_slot(a, b, rules()) == at(30)
    assert pair_pool([a, b], rules()) == [Pair(first=a, second=b, scheduled_start=at(30))]


def test_windows_that_touch_at_one_slot_pair_at_that_slot():
    a = english("a", start=at(0), end=at(30))
    b = spanish("b", start=at(30), end=at(90))
    assert [pair.scheduled_start for pair in pair_pool([a, b], rules())] == [at(30)]


def test_a_fixed_slot_inside_a_window_pairs_at_the_fixed_slot():
    a = english("a", start=at(0), end=at(120))
    b = spanish("b", start=at(50))
    assert [pair.scheduled_start for pair in pair_pool([a, b], rules())] == [at(50)]


def test_windows_that_do_not_overlap_are_not_paired():
    a = english("a", start=at(0), end=at(30))
    b = spanish("b", start=at(40), end=at(90))
    assert earliest_common_slot(a, b, rules()) is None
    assert not can_pair(a, b, rules())
    assert pair_pool([a, b], rules()) == []


def test_a_slot_at_or_before_now_is_not_bookable():
    a, b = english("a"), spanish("b")
    assert not can_pair(a, b, rules(now=SIX_PM))
    assert not can_pair(a, b, rules(now=at(5)))
    assert can_pair(a, b, rules(now=at(-1)))


def test_a_window_begun_before_now_pairs_at_the_first_slot_after_now():
    a = english("a", start=at(0), end=at(60))
    b = spanish("b", start=at(-60), end=at(60))
    assert [p.scheduled_start for p in pair_pool([a, b], rules(now=at(12)))] == [at(20)]
    assert [p.scheduled_start for p in pair_pool([a, b], rules(now=at(20)))] == [at(30)]
    assert pair_pool([a, b], rules(now=at(60))) == []


def test_the_earliest_slot_is_preferred_when_the_same_requests_are_served_as_close():
    # b fits a at 18:00 or 19:00 and c at 19:00 only; whoever pairs at the earlier slot,
    # the pool serves a, b and one of the others: the earliest sessions win.
    a = english("a", start=at(0), end=at(60), waited_minutes=3)
    b = spanish("b", start=at(0), end=at(60), waited_minutes=2)
    c = english("c", start=at(60), waited_minutes=1)
    d = spanish("d", start=at(60))
    pairs = pair_pool([a, b, c, d], rules())
    assert [(p.first.request_id, p.second.request_id, p.scheduled_start) for p in pairs] == [
        ("a", "b", at(0)),
        ("c", "d", at(60)),
    ]


def test_fixed_slots_of_different_times_in_one_pool_do_not_pair_with_each_other():
    pool = [english("a"), spanish("b", start=at(10)), english("c", start=at(10))]
    assert ids(pair_pool(pool, rules())) == [("b", "c")]


# Shard ownership


def test_a_pair_whose_earliest_common_slot_is_before_the_shard_is_not_paired_by_it():
    a = english("a", start=at(-30, MIDNIGHT), end=at(60, MIDNIGHT))
    b = spanish("b", start=at(-10, MIDNIGHT), end=at(60, MIDNIGHT))
    later_shard = rules(owned_from=MIDNIGHT, owned_to=at(24 * 60, MIDNIGHT))
    earlier_shard = rules(owned_from=at(-24 * 60, MIDNIGHT), owned_to=MIDNIGHT)
    assert earliest_common_slot(a, b, later_shard) is None
    assert pair_pool([a, b], later_shard) == []
    assert [p.scheduled_start for p in pair_pool([a, b], earlier_shard)] == [at(-10, MIDNIGHT)]


def test_a_pair_whose_earliest_common_slot_is_in_the_later_shard_is_paired_only_there():
    a = english("a", start=at(-30, MIDNIGHT), end=at(60, MIDNIGHT))
    b = spanish("b", start=MIDNIGHT, end=at(60, MIDNIGHT))
    later_shard = rules(owned_from=MIDNIGHT, owned_to=at(24 * 60, MIDNIGHT))
    earlier_shard = rules(owned_from=at(-24 * 60, MIDNIGHT), owned_to=MIDNIGHT)
    assert pair_pool([a, b], earlier_shard) == []
    assert [p.scheduled_start for p in pair_pool([a, b], later_shard)] == [MIDNIGHT]


def test_once_the_earlier_shards_slots_have_passed_the_later_shard_owns_the_pair():
    a = english("a", start=at(-30, MIDNIGHT), end=at(60, MIDNIGHT))
    b = spanish("b", start=at(-10, MIDNIGHT), end=at(60, MIDNIGHT))
    later_shard = rules(now=at(-5, MIDNIGHT), owned_from=MIDNIGHT)
    assert [p.scheduled_start for p in pair_pool([a, b], later_shard)] == [MIDNIGHT]


# Levels that widen


def test_levels_two_apart_pair_only_within_the_widening_of_their_earliest_common_slot():
    a = english("a", Level.BEGINNER, start=at(0), end=at(60))
    b = spanish("b", Level.INTERMEDIATE, start=at(30), end=at(90))
    widen = {"widen_levels_minutes": 30}
    assert not can_pair(a, b, rules(now=at(-1), **widen))
    assert can_pair(a, b, rules(now=at(0), **widen))  # 18:30 is exactly 30 minutes away
    assert [p.scheduled_start for p in pair_pool([a, b], rules(now=at(0), **widen))] == [at(30)]
    assert not can_pair(a, b, rules(now=at(0)))  # no widening


def test_levels_three_apart_never_pair():
    a = english("a", Level.BEGINNER)
    b = spanish("b", Level.UPPER_INTERMEDIATE)
    assert not can_pair(a, b, rules(now=at(-5), widen_levels_minutes=60))


def test_the_next_widening_is_the_earliest_common_slot_minus_the_widening():
    a = english("a", Level.BEGINNER, start=at(0), end=at(60))
    b = spanish("b", Level.INTERMEDIATE, start=at(30), end=at(90))
    c = spanish("c", Level.INTERMEDIATE, start=at(50), end=at(90))
    assert next_widening([a, b, c], rules(now=at(-60), widen_levels_minutes=30)) == at(0)
    assert next_widening([a, c], rules(now=at(-60), widen_levels_minutes=30)) == at(20)


def test_there_is_no_next_widening_without_widening_or_once_it_has_happened():
    a = english("a", Level.BEGINNER, start=at(0), end=at(60))
    b = spanish("b", Level.INTERMEDIATE, start=at(30), end=at(90))
    assert next_widening([a, b], rules(now=at(-60))) is None
    assert next_widening([a, b], rules(now=at(0), widen_levels_minutes=30)) is None
    assert next_widening([a, english("c")], rules(now=at(-60), widen_levels_minutes=30)) is None


def test_a_blocked_pair_two_apart_never_widens():
    a = english("a", Level.BEGINNER, user_id="ann")
    b = spanish("b", Level.INTERMEDIATE, user_id="bob")
    blocked = rules(
        now=at(-60), widen_levels_minutes=30, blocked=frozenset({frozenset({"ann", "bob"})})
    )
    assert next_widening([a, b], blocked) is None


# A hot evening


def test_an_evening_of_ten_thousand_windowed_requests_is_paired_completely():
    # Every window holds 18:30, and levels are at most one apart: everyone can pair, each
    # pair at the later of its two starts.
    levels = [Level.INTERMEDIATE, Level.UPPER_INTERMEDIATE]
    pool = [
        (english if i % 2 else spanish)(
            f"r{i:05d}",
            levels[i % 7 % 2],
            start=at(10 * (i % 4)),
            end=at(10 * (3 + i % 3)),
            waited_minutes=i % 97,
        )
        for i in range(10_000)
    ]
    pairs = pair_pool(pool, rules())
    assert len(pairs) == 5_000
    assert all(can_pair(pair.first, pair.second, rules()) for pair in pairs)
    assert all(
        pair.scheduled_start == max(pair.first.availability_start, pair.second.availability_start)
        for pair in pairs
    )
