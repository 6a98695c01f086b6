from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.local_time import LocalTimeError, instant_of, time_zone


def test_a_wall_clock_time_in_berlin_winter_is_an_hour_ahead_of_utc() -> None:
    assert instant_of(datetime(2027, 3, 27, 15, 0), "Europe/Berlin") == datetime(
        2027, 3, 27, 14, 0, tzinfo=UTC
    )


def test_after_the_clocks_go_forward_berlin_is_two_hours_ahead() -> None:
    assert instant_of(datetime(2027, 3, 28, 15, 0), "Europe/Berlin") == datetime(
        2027, 3, 28, 13, 0, tzinfo=UTC
    )


def test_the_same_wall_time_either_side_of_the_change_is_23_hours_apart() -> None:
    before = instant_of(datetime(2027, 3, 27, 15, 0), "Europe/Berlin")
    after = instant_of(datetime(2027, 3, 28, 15, 0), "Europe/Berlin")
    assert after - before == timedelta(hours=23)


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(LocalTimeError, match="does not exist"):
        instant_of(datetime(2027, 3, 28, 2, 30), "Europe/Berlin")


def test_a_time_the_clocks_show_twice_is_refused_without_an_offset() -> None:
    with pytest.raises(LocalTimeError, match="happens twice"):
        instant_of(datetime(2027, 10, 31, 2, 30), "Europe/Berlin")
    with_offset = datetime(2027, 10, 31, 2, 30, tzinfo=timezone(timedelta(hours=1)))
    assert instant_of(with_offset, "Europe/Berlin") == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)


def test_a_time_with_an_offset_means_just_that_whatever_the_zone() -> None:
    value = datetime(2027, 3, 28, 15, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert instant_of(value, "Asia/Tokyo") == datetime(2027, 3, 28, 20, 0, tzinfo=UTC)


def test_utc_is_the_default_reading() -> None:
    assert instant_of(datetime(2027, 3, 28, 15, 0), "UTC") == datetime(2027, 3, 28, 15, tzinfo=UTC)


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(LocalTimeError, match="Mars/Olympus"):
        time_zone("Mars/Olympus")
    with pytest.raises(LocalTimeError):
        time_zone("../../etc/passwd")


def test_a_wall_time_beyond_the_last_utc_instant_is_refused_not_crashed() -> None:
    with pytest.raises(LocalTimeError, match="out of range"):
        instant_of(datetime(9999, 12, 31, 23, 50), "America/New_York")
