"""Proficiency levels, their order, and which levels may practise together."""

from enum import StrEnum


class Level(StrEnum):
    """A learner's proficiency, from lowest to highest."""

    BEGINNER = "beginner"
    ELEMENTARY = "elementary"
    INTERMEDIATE = "intermediate"
    UPPER_INTERMEDIATE = "upper_intermediate"
    ADVANCED = "advanced"


# Declaration order is the ladder; StrEnum members hash like their values, so plain
# strings from the database look up the same rank.
_RANKS: dict[str, int] = {level: rank for rank, level in enumerate(Level)}


def level_rank(level: Level) -> int:
    """Return the level's position on the ladder, 0 (beginner) to 4 (advanced)."""
    return _RANKS[level]


def level_distance(a: Level, b: Level) -> int:
    """Return how many steps apart two levels are."""
    return abs(level_rank(a) - level_rank(b))


def levels_compatible(a: Level, b: Level) -> bool:
    """Tell whether two levels are close enough (at most one step) to be paired."""
    return level_distance(a, b) <= 1


def levels_within(level: Level, steps: int) -> list[Level]:
    """Return every level at most `steps` away from `level`, lowest first."""
    return [other for other in Level if level_distance(level, other) <= steps]
