from domain.levels import Level, level_distance, level_rank, levels_compatible, levels_within


def test_levels_climb_from_beginner_to_advanced():
    assert [level.value for level in Level] == [
        "beginner",
        "elementary",
        "intermediate",
        "upper_intermediate",
        "advanced",
    ]
    assert [level_rank(level) for level in Level] == [0, 1, 2, 3, 4]


def test_a_level_read_from_a_plain_string_is_the_same_level():
    assert Level("upper_intermediate") is Level.UPPER_INTERMEDIATE
    assert level_rank(Level("advanced")) == 4


def test_neighbouring_levels_are_compatible():
    assert levels_compatible(Level.INTERMEDIATE, Level.UPPER_INTERMEDIATE)
    assert levels_compatible(Level.ELEMENTARY, Level.BEGINNER)


def test_a_level_is_compatible_with_itself():
    assert all(levels_compatible(level, level) for level in Level)


def test_levels_two_steps_apart_are_not_compatible():
    assert not levels_compatible(Level.BEGINNER, Level.INTERMEDIATE)
    assert not levels_compatible(Level.ADVANCED, Level.BEGINNER)


def test_level_distance_counts_steps_either_way():
    assert level_distance(Level.BEGINNER, Level.ADVANCED) == 4
    assert level_distance(Level.ADVANCED, Level.BEGINNER) == 4
    assert level_distance(Level.INTERMEDIATE, Level.INTERMEDIATE) == 0


def test_the_levels_within_two_steps_of_a_beginner_stop_at_intermediate() -> None:
    assert levels_within(Level.BEGINNER, 2) == [
        Level.BEGINNER,
        Level.ELEMENTARY,
        Level.INTERMEDIATE,
    ]


def test_the_levels_within_one_step_of_intermediate_are_its_neighbours_and_itself() -> None:
    assert levels_within(Level.INTERMEDIATE, 1) == [
        Level.ELEMENTARY,
        Level.INTERMEDIATE,
        Level.UPPER_INTERMEDIATE,
    ]

