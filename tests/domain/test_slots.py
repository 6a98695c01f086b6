from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.slots import is_on_grid, next_slot_after, slot_key

CEST = timezone(timedelta(hours=2))


def utc(hour: int, minute: int, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2025, 7, 27, hour, minute, second, microsecond, tzinfo=UTC)


def test_a_time_on_a_ten_minute_boundary_is_on_the_grid():
    assert is_on_grid(utc(15, 0), 10)
    assert is_on_grid(utc(15, 50), 10)


def test_a_time_between_boundaries_is_off_the_grid():
    assert not is_on_grid(utc(15, 5), 10)


def test_a_stray_second_or_microsecond_puts_a_time_off_the_grid():
    assert not is_on_grid(utc(15, 0, second=1), 10)
    assert not is_on_grid(utc(15, 0, microsecond=1), 10)


def test_the_grid_follows_the_slot_length():
    assert is_on_grid(utc(15, 45), 15)
    assert not is_on_grid(utc(15, 50), 15)


def test_the_grid_is_fixed_in_utc_whatever_the_offset_of_the_input():
    assert is_on_grid(datetime(2025, 7, 27, 17, 0, tzinfo=CEST), 10)
    half_hour_zone = timezone(timedelta(hours=5, minutes=30))
    assert is_on_grid(datetime(2025, 7, 27, 20, 30, tzinfo=half_hour_zone), 60)
    assert not is_on_grid(datetime(2025, 7, 27, 20, 0, tzinfo=half_hour_zone), 60)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        is_on_grid(datetime(2025, 7, 27, 15, 0), 10)
    with pytest.raises(ValueError, match="naive"):
        next_slot_after(datetime(2025, 7, 27, 15, 0), 10)
    with pytest.raises(ValueError, match="naive"):
        slot_key(datetime(2025, 7, 27, 15, 0))


def test_a_slot_length_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="positive"):
        is_on_grid(utc(15, 0), 0)


def test_the_next_slot_after_a_no_show_at_two_past_is_ten_past():
    assert next_slot_after(utc(15, 2), 10) == utc(15, 10)


def test_the_next_slot_after_a_grid_point_is_the_following_one():
    assert next_slot_after(utc(15, 10), 10) == utc(15, 20)


def test_the_next_slot_after_a_moment_just_past_a_grid_point_is_the_following_one():
    assert next_slot_after(utc(15, 10, microsecond=1), 10) == utc(15, 20)


def test_the_next_slot_crosses_midnight():
    assert next_slot_after(utc(23, 55), 10) == datetime(2025, 7, 28, 0, 0, tzinfo=UTC)


def test_the_next_slot_is_given_in_utc():
    result = next_slot_after(datetime(2025, 7, 27, 17, 2, tzinfo=CEST), 10)
    assert result == utc(15, 10)
    assert result.utcoffset() == timedelta(0)


def test_a_slot_key_is_a_compact_utc_stamp():
    assert slot_key(utc(15, 0)) == "20250727T1500Z"


def test_a_slot_key_converts_to_utc_first():
    assert slot_key(datetime(2025, 7, 27, 17, 0, tzinfo=CEST)) == "20250727T1500Z"
