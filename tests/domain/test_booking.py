from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.booking import BookingPolicy, validate_request, validate_reschedule
from domain.errors import RuleViolation, StateConflict
from domain.requests import MatchRequest

NOW = datetime(2025, 7, 27, 14, 3, 17, tzinfo=UTC)
THREE_PM = datetime(2025, 7, 27, 15, 0, tzinfo=UTC)
POLICY = BookingPolicy()
LANGUAGES = frozenset({"english", "spanish", "french"})

SEED_REQUEST = MatchRequest(
    request_id="request-1",
    user_id="user-1",
    native_language_id="english",
    learning_language_id="spanish",
    proficiency_level="intermediate",
    availability_start=THREE_PM,
    availability_end=THREE_PM,
    preferred_duration_minutes=60,
    created_at=NOW,
)


def violation(draft: MatchRequest) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        validate_request(draft, now=NOW, policy=POLICY, known_languages=LANGUAGES)
    return caught.value


def test_the_seeds_request_is_accepted():
    validate_request(SEED_REQUEST, now=NOW, policy=POLICY, known_languages=LANGUAGES)


def test_a_request_without_an_end_is_accepted_as_a_single_slot():
    draft = replace(SEED_REQUEST, availability_end=None)
    validate_request(draft, now=NOW, policy=POLICY, known_languages=LANGUAGES)


def test_a_request_in_another_timezone_for_the_same_instant_is_accepted():
    cest = timezone(timedelta(hours=2))
    start = datetime(2025, 7, 27, 17, 0, tzinfo=cest)
    draft = replace(SEED_REQUEST, availability_start=start, availability_end=THREE_PM)
    validate_request(draft, now=NOW, policy=POLICY, known_languages=LANGUAGES)


def test_an_unknown_native_language_is_refused_by_name():
    refused = violation(replace(SEED_REQUEST, native_language_id="klingon"))
    assert (refused.field, refused.reason) == ("native_language_id", "unknown language 'klingon'")


def test_an_unknown_learning_language_is_refused_by_name():
    refused = violation(replace(SEED_REQUEST, learning_language_id="xx"))
    assert (refused.field, refused.reason) == ("learning_language_id", "unknown language 'xx'")


def test_learning_ones_own_native_language_is_refused():
    refused = violation(replace(SEED_REQUEST, learning_language_id="english"))
    assert refused.field == "learning_language_id"
    assert refused.reason == "must differ from native_language_id"


def test_an_unknown_level_is_refused_with_the_allowed_ones_listed():
    refused = violation(replace(SEED_REQUEST, proficiency_level="fluent"))
    assert refused.field == "proficiency_level"
    assert "beginner, elementary, intermediate, upper_intermediate, advanced" in refused.reason


@pytest.mark.parametrize("minutes", [0, 14, 121, -60])
def test_a_duration_outside_fifteen_to_a_hundred_and_twenty_minutes_is_refused(minutes: int):
    refused = violation(replace(SEED_REQUEST, preferred_duration_minutes=minutes))
    assert refused.field == "preferred_duration_minutes"
    assert "15" in refused.reason and "120" in refused.reason


@pytest.mark.parametrize("minutes", [15, 120])
def test_the_shortest_and_longest_durations_are_accepted(minutes: int):
    draft = replace(SEED_REQUEST, preferred_duration_minutes=minutes)
    validate_request(draft, now=NOW, policy=POLICY, known_languages=LANGUAGES)


def test_a_naive_start_is_refused_with_a_clear_reason():
    naive = datetime(2025, 7, 27, 15, 0)
    refused = violation(replace(SEED_REQUEST, availability_start=naive, availability_end=None))
    assert refused.field == "availability_start"
    assert "timezone" in refused.reason


def test_a_request_off_the_slot_grid_is_refused():
    start = THREE_PM + timedelta(minutes=5)
    refused = violation(replace(SEED_REQUEST, availability_start=start, availability_end=start))
    assert refused.field == "availability_start"
    assert refused.reason == "must lie on the 10-minute slot grid"


def test_the_grid_follows_the_policys_slot_length():
    start = THREE_PM + timedelta(minutes=10)
    draft = replace(SEED_REQUEST, availability_start=start, availability_end=start)
    with pytest.raises(RuleViolation, match="15-minute slot grid"):
        validate_request(
            draft, now=NOW, policy=BookingPolicy(slot_minutes=15), known_languages=LANGUAGES
        )


def test_a_slot_in_the_past_is_refused():
    start = datetime(2025, 7, 27, 14, 0, tzinfo=UTC)
    refused = violation(replace(SEED_REQUEST, availability_start=start, availability_end=start))
    assert (refused.field, refused.reason) == ("availability_start", "must be in the future")


def test_a_slot_starting_right_now_is_refused():
    now = THREE_PM
    with pytest.raises(RuleViolation, match="must be in the future"):
        validate_request(SEED_REQUEST, now=now, policy=POLICY, known_languages=LANGUAGES)


def test_a_slot_exactly_thirty_days_ahead_is_accepted():
    now = THREE_PM - timedelta(days=30)
    validate_request(SEED_REQUEST, now=now, policy=POLICY, known_languages=LANGUAGES)


def test_a_slot_beyond_the_booking_horizon_is_refused():
    now = THREE_PM - timedelta(days=30, microseconds=1)
    with pytest.raises(RuleViolation, match="at most 30 days ahead") as caught:
        validate_request(SEED_REQUEST, now=now, policy=POLICY, known_languages=LANGUAGES)
    assert caught.value.field == "availability_start"


def test_a_window_up_to_six_hours_long_is_bookable():
    for hours in (1, 6):
        window = replace(SEED_REQUEST, availability_end=THREE_PM + timedelta(hours=hours))
        validate_request(window, now=NOW, policy=POLICY, known_languages=LANGUAGES)


def test_a_window_longer_than_the_maximum_is_refused():
    refused = violation(
        replace(SEED_REQUEST, availability_end=THREE_PM + timedelta(hours=6, minutes=10))
    )
    assert refused.field == "availability_end"
    assert refused.reason == "must be at most 6 hours after availability_start"


def test_a_window_that_ends_before_it_starts_is_refused():
    refused = violation(replace(SEED_REQUEST, availability_end=THREE_PM - timedelta(minutes=10)))
    assert refused.field == "availability_end"
    assert refused.reason == "must not be before availability_start"


def test_a_window_end_off_the_grid_is_refused():
    refused = violation(replace(SEED_REQUEST, availability_end=THREE_PM + timedelta(minutes=15)))
    assert refused.field == "availability_end"
    assert refused.reason == "must lie on the 10-minute slot grid"


def test_a_naive_end_is_refused():
    refused = violation(replace(SEED_REQUEST, availability_end=datetime(2025, 7, 27, 15, 0)))
    assert refused.field == "availability_end"


def test_the_first_broken_rule_in_field_order_is_the_one_reported():
    draft = replace(
        SEED_REQUEST,
        native_language_id="xx",
        learning_language_id="yy",
        proficiency_level="fluent",
        preferred_duration_minutes=5,
    )
    assert violation(draft).field == "native_language_id"
    assert violation(replace(draft, native_language_id="english")).field == ("learning_language_id")


def test_a_rule_violation_reads_as_field_and_reason():
    refused = RuleViolation("availability_start", "must be in the future")
    assert str(refused) == "availability_start: must be in the future"
    assert isinstance(refused, ValueError)


def test_a_state_conflict_carries_its_reason():
    conflict = StateConflict("request is matched, not waiting")
    assert conflict.reason == str(conflict) == "request is matched, not waiting"


def test_a_reschedule_to_a_future_grid_slot_is_accepted():
    validate_reschedule(THREE_PM + timedelta(hours=1), now=NOW, policy=POLICY)


def test_a_reschedule_off_the_grid_is_refused():
    with pytest.raises(RuleViolation, match="slot grid") as caught:
        validate_reschedule(THREE_PM + timedelta(minutes=1), now=NOW, policy=POLICY)
    assert caught.value.field == "availability_start"


def test_a_reschedule_into_the_past_is_refused():
    with pytest.raises(RuleViolation, match="must be in the future"):
        validate_reschedule(THREE_PM - timedelta(hours=2), now=NOW, policy=POLICY)


def test_a_reschedule_beyond_the_horizon_is_refused():
    with pytest.raises(RuleViolation, match="days ahead"):
        validate_reschedule(THREE_PM + timedelta(days=31), now=NOW, policy=POLICY)


def test_a_naive_clock_is_a_programming_error_not_a_rule_violation():
    with pytest.raises(ValueError, match="naive") as caught:
        validate_reschedule(THREE_PM, now=datetime(2025, 7, 27, 14, 0), policy=POLICY)
    assert not isinstance(caught.value, RuleViolation)
