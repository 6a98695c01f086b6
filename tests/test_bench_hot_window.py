"""The hot window's diagnosis of a pairing short of the maximum, on hand-built pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.scenarios.hot_window import augmenting_path

SIX = datetime(2026, 12, 1, 18, tzinfo=UTC)
SEVEN = SIX + timedelta(hours=1)


def test_the_path_alternates_the_best_and_the_made_pairs_until_someone_left_alone() -> None:
    # a-b-c-d in a line: the matchmaker seated b with c, the maximum seats a-b and c-d.
    made = [("b", "c", SIX)]
    best = [("a", "b", SEVEN), ("c", "d", SIX)]
    assert augmenting_path(made, best, "a") == [
        ("a", SEVEN, "b"), ("b", SIX, "c"), ("c", SIX, "d"),
    ]  # fmt: skip


def test_a_path_that_ends_at_someone_the_maximum_leaves_alone_has_even_length() -> None:
    made = [("a", "b", SIX)]
    best = [("b", "c", SIX)]
    assert augmenting_path(made, best, "c") == [("c", SIX, "b"), ("b", SIX, "a")]
