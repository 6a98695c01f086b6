"""The hot window's diagnosis of a pairing short of the maximum, on hand-built requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.scenarios.window_diagnosis import augmenting_path
from domain.matching import MatchRules
from domain.requests import MatchRequest

SIX = datetime(2026, 12, 1, 18, tzinfo=UTC)
RULES = MatchRules(now=SIX - timedelta(minutes=10), slot_minutes=10)


def request(name: str, native: str, level: str, first: int, last: int) -> MatchRequest:
    """`name` speaks `native` and learns the other, free from slot `first` to slot `last`."""
    return MatchRequest(
        request_id=name,
        user_id=f"user-{name}",
        native_language_id=native,
        learning_language_id="spanish" if native == "english" else "english",
        proficiency_level=level,
        availability_start=SIX + timedelta(minutes=10 * first),
        availability_end=SIX + timedelta(minutes=10 * last),
        preferred_duration_minutes=30,
        created_at=SIX - timedelta(hours=1),
    )


def at(slot: int) -> datetime:
    return SIX + timedelta(minutes=10 * slot)


def test_the_shortest_path_moves_a_seated_pair_to_another_slot() -> None:
    # b (English, slots 0-1) sits with c (Spanish, 0-1) at slot 0; a (Spanish, slot 0 only) and
    # d (English, slot 1 only) are alone. Seating c with d at slot 1 frees b for a.
    pool = [
        request("a", "spanish", "intermediate", 0, 0),
        request("b", "english", "intermediate", 0, 1),
        request("c", "spanish", "intermediate", 0, 1),
        request("d", "english", "intermediate", 1, 1),
    ]
    made = [("b", "c", at(0))]
    assert augmenting_path(pool, made, "a", RULES) == [
        ("a", at(0), "b"), ("b", at(0), "c"), ("c", at(1), "d"),
    ]  # fmt: skip


def test_no_path_when_the_pairing_is_already_maximum_for_that_request() -> None:
    pool = [
        request("a", "spanish", "beginner", 0, 0),
        request("b", "english", "advanced", 0, 1),  # three levels from a: never a's partner
        request("c", "spanish", "advanced", 0, 1),
    ]
    assert augmenting_path(pool, [("b", "c", at(0))], "a", RULES) == []
