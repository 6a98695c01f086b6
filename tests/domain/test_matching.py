from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from domain.levels import Level
from domain.matching import (
    MatchRules,
    Pair,
    can_pair,
    language_pair,
    pair_pool,
)
from domain.requests import MatchRequest

T = TypeVar("T")
THREE_PM = datetime(2025, 7, 27, 15, 0, tzinfo=UTC)
EARLY = datetime(2025, 7, 27, 9, 0, tzinfo=UTC)
# Fixed-slot pools are paired as in the morning, long before their slots.
RULES = MatchRules(now=EARLY)


def request(
    request_id: str,
    native: str = "english",
    learning: str = "spanish",
    level: Level = Level.INTERMEDIATE,
    *,
    user_id: str | None = None,
    priority: int = 0,
    waited_minutes: int = 0,
    availability_start: datetime = THREE_PM,
    availability_end: datetime | None = None,
    preferred_duration_minutes: int = 60,
) -> MatchRequest:
    return MatchRequest(
        request_id=request_id,
        user_id=user_id or f"user-{request_id}",
        native_language_id=native,
        learning_language_id=learning,
        proficiency_level=level,
        priority=priority,
        created_at=EARLY - timedelta(minutes=waited_minutes),
        availability_start=availability_start,
        availability_end=availability_end,
        preferred_duration_minutes=preferred_duration_minutes,
    )


def spanish_speaker(
    request_id: str, level: Level = Level.INTERMEDIATE, **kwargs: Any
) -> MatchRequest:
    return request(request_id, "spanish", "english", level, **kwargs)


def ids(pairs: list[Pair]) -> list[tuple[str, str]]:
    return [(pair.first.request_id, pair.second.request_id) for pair in pairs]


def served(pairs: list[Pair]) -> set[str]:
    return {c.request_id for pair in pairs for c in (pair.first, pair.second)}


# Examples


def test_the_seeds_english_and_spanish_speakers_are_paired():
    a = request("req-a", user_id="user-a", waited_minutes=5)
    b = spanish_speaker("req-b", user_id="user-b")
    assert can_pair(a, b, RULES) and can_pair(b, a, RULES)
    assert pair_pool([b, a], RULES) == [Pair(first=a, second=b, scheduled_start=THREE_PM)]


def test_two_learners_of_the_same_language_are_not_paired():
    assert pair_pool([request("a"), request("b")], RULES) == []


def test_requests_that_are_not_reciprocal_are_not_paired():
    a = request("a", "english", "spanish")
    b = request("b", "spanish", "french")
    assert not can_pair(a, b, RULES)
    assert pair_pool([a, b], RULES) == []


def test_a_user_is_never_paired_with_themselves():
    a = request("a", user_id="same")
    b = spanish_speaker("b", user_id="same")
    assert not can_pair(a, b, RULES)
    assert pair_pool([a, b], RULES) == []


def test_levels_two_steps_apart_are_not_paired():
    a = request("a", level=Level.BEGINNER)
    b = spanish_speaker("b", level=Level.INTERMEDIATE)
    assert not can_pair(a, b, RULES)
    assert pair_pool([a, b], RULES) == []


def test_levels_one_step_apart_are_paired():
    a = request("a", level=Level.UPPER_INTERMEDIATE)
    b = spanish_speaker("b", level=Level.ADVANCED)
    assert ids(pair_pool([a, b], RULES)) == [("a", "b")]


def test_requests_for_different_slots_or_lengths_are_not_paired():
    a = request("a")
    later = spanish_speaker("b", availability_start=THREE_PM + timedelta(minutes=10))
    shorter = spanish_speaker("c", preferred_duration_minutes=30)
    assert pair_pool([a, later, shorter], RULES) == []


def test_the_same_slot_given_in_another_timezone_is_the_same_slot():
    cest = THREE_PM.astimezone(datetime.fromisoformat("2025-07-27T17:00+02:00").tzinfo)
    assert ids(pair_pool([request("a"), spanish_speaker("b", availability_start=cest)], RULES)) == [
        ("a", "b")
    ]


def test_someone_learning_their_own_language_is_never_paired():
    a = request("a", "english", "english")
    b = request("b", "english", "english")
    assert not can_pair(a, b, RULES)
    assert pair_pool([a, b], RULES) == []


def test_more_pairs_beat_first_come_first_served():
    # First come, first served gives the oldest request (a) the oldest partner it fits (b),
    # leaving c (a beginner) with nobody; pairing a with d instead serves everyone.
    a = request("a", level=Level.INTERMEDIATE, waited_minutes=40)
    b = spanish_speaker("b", level=Level.ELEMENTARY, waited_minutes=30)
    c = request("c", level=Level.BEGINNER, waited_minutes=20)
    d = spanish_speaker("d", level=Level.UPPER_INTERMEDIATE, waited_minutes=10)
    assert ids(pair_pool([a, b, c, d], RULES)) == [("a", "d"), ("b", "c")]


def test_a_priority_one_request_is_served_before_an_older_priority_zero_one():
    old = request("old", waited_minutes=60)
    let_down = request("let-down", priority=1)
    partner = spanish_speaker("partner", waited_minutes=120)
    assert ids(pair_pool([old, let_down, partner], RULES)) == [("let-down", "partner")]


def test_the_longest_waiting_request_is_served_first_when_only_one_can_be():
    newer = request("newer", waited_minutes=5)
    older = request("older", waited_minutes=50)
    partner = spanish_speaker("partner")
    assert ids(pair_pool([newer, partner, older], RULES)) == [("older", "partner")]


def test_the_request_id_breaks_an_exact_tie():
    assert ids(pair_pool([request("b"), request("a"), spanish_speaker("z")], RULES)) == [("a", "z")]


def test_priority_never_costs_a_pair():
    # The let-down request fits only partner p, which the others also need; serving it
    # still leaves a maximum pairing because vertex sets of matchings form a matroid.
    let_down = request("let-down", level=Level.ADVANCED, priority=1)
    q = request("q", level=Level.INTERMEDIATE, waited_minutes=90)
    p = spanish_speaker("p", level=Level.UPPER_INTERMEDIATE)
    s = spanish_speaker("s", level=Level.ELEMENTARY)
    assert ids(pair_pool([q, p, s, let_down], RULES)) == [("let-down", "p"), ("q", "s")]


def test_closer_levels_are_preferred_when_the_same_requests_are_served():
    # Rank order a, d, b, c would pair a with d if levels did not matter.
    a = request("a", level=Level.INTERMEDIATE, waited_minutes=40)
    d = spanish_speaker("d", level=Level.UPPER_INTERMEDIATE, waited_minutes=30)
    b = request("b", level=Level.UPPER_INTERMEDIATE, waited_minutes=20)
    c = spanish_speaker("c", level=Level.INTERMEDIATE, waited_minutes=10)
    assert ids(pair_pool([a, b, c, d], RULES)) == [("a", "c"), ("d", "b")]


def test_separate_slots_and_language_pairs_are_paired_independently():
    pool = [
        request("en-es", waited_minutes=3),
        spanish_speaker("es-en", waited_minutes=2),
        request("en-fr", "english", "french", waited_minutes=1),
        request("fr-en", "french", "english"),
        request("late-en", availability_start=THREE_PM + timedelta(hours=1), priority=1),
        spanish_speaker("late-es", availability_start=THREE_PM + timedelta(hours=1)),
    ]
    assert ids(pair_pool(pool, RULES)) == [
        ("late-en", "late-es"),
        ("en-es", "es-en"),
        ("en-fr", "fr-en"),
    ]


def test_an_empty_pool_gives_no_pairs():
    assert pair_pool([], RULES) == []


def test_a_request_id_twice_in_the_pool_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        pair_pool([request("a"), spanish_speaker("a")], RULES)


def test_a_request_with_a_naive_time_is_refused_before_pairing():
    naive = request("a", availability_start=datetime(2025, 7, 27, 15, 0))
    with pytest.raises(ValueError, match="naive"):
        pair_pool([naive], RULES)


def test_a_requests_level_read_as_a_plain_string_becomes_a_level():
    candidate = replace(request("a"), proficiency_level="advanced")
    assert candidate.level is Level.ADVANCED


def test_a_request_of_an_unknown_level_is_refused_before_pairing():
    with pytest.raises(ValueError, match="expert"):
        pair_pool([replace(request("a"), proficiency_level="expert")], RULES)


def test_a_hot_slot_of_ten_thousand_requests_is_paired_completely():
    levels = list(Level)
    pool = [
        (request if i % 2 else spanish_speaker)(
            f"r{i:05d}", level=levels[i % 5], waited_minutes=i % 97
        )
        for i in range(10_000)
    ]
    pairs = pair_pool(pool, RULES)
    assert len(pairs) == 5_000
    assert all(can_pair(pair.first, pair.second, RULES) for pair in pairs)


def test_a_language_pair_is_the_same_from_either_side():
    assert language_pair("spanish", "english") == language_pair("english", "spanish")
    assert language_pair("english", "spanish") == ("english", "spanish")
