from datetime import UTC, datetime, timedelta

from domain.reminders import ReminderKind, next_reminder_at, reminder_due

START = datetime(2027, 3, 28, 15, 0, tzinfo=UTC)
HOUR, FIVE = timedelta(hours=1), timedelta(minutes=5)


def at(minutes_before: float) -> datetime:
    return START - timedelta(minutes=minutes_before)


def test_nothing_is_owed_more_than_an_hour_before_the_start() -> None:
    assert reminder_due(START, at(61), HOUR, FIVE) is None
    assert next_reminder_at(START, at(61), HOUR, FIVE) == at(60)


def test_an_hour_before_the_start_the_first_reminder_is_owed() -> None:
    assert reminder_due(START, at(60), HOUR, FIVE) == ReminderKind.BEFORE_START
    assert next_reminder_at(START, at(60), HOUR, FIVE) == at(5)


def test_a_session_made_twenty_minutes_ahead_is_reminded_at_once() -> None:
    assert reminder_due(START, at(20), HOUR, FIVE) == ReminderKind.BEFORE_START


def test_when_joining_opens_the_join_reminder_is_owed_and_stands_for_both() -> None:
    assert reminder_due(START, at(5), HOUR, FIVE) == ReminderKind.JOIN_OPEN
    assert reminder_due(START, at(1), HOUR, FIVE) == ReminderKind.JOIN_OPEN
    assert next_reminder_at(START, at(5), HOUR, FIVE) is None


def test_from_the_start_on_no_reminder_is_owed() -> None:
    assert reminder_due(START, START, HOUR, FIVE) is None
    assert next_reminder_at(START, START, HOUR, FIVE) is None


def test_a_remind_before_inside_the_join_window_leaves_only_the_join_reminder() -> None:
    assert reminder_due(START, at(4), timedelta(minutes=3), FIVE) == ReminderKind.JOIN_OPEN
    assert reminder_due(START, at(6), timedelta(minutes=3), FIVE) is None
