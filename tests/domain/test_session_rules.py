"""A session's rules, as sentences."""

from datetime import UTC, datetime, timedelta

from domain.session_rules import (
    CancelReceipt,
    Participant,
    SessionClock,
    cancel_refusal,
    cancellation,
    end_refusal,
    join_refusal,
    no_show,
    settlement,
)
from domain.statuses import CancelReason

START = datetime(2025, 7, 27, 15, 0, tzinfo=UTC)
CLOCK = SessionClock.for_session(START, 60, join_opens_minutes=5, grace_seconds=120)
A = Participant("user-a", "req-a")
B = Participant("user-b", "req-b")


def test_the_clock_of_a_three_oclock_hour_long_session() -> None:
    assert CLOCK.join_opens_at == START - timedelta(minutes=5)
    assert CLOCK.no_show_at == START + timedelta(minutes=2)
    assert CLOCK.end == START + timedelta(hours=1)


def test_joining_is_refused_before_the_window_opens_and_after_the_no_show_deadline() -> None:
    assert join_refusal(CLOCK, START - timedelta(minutes=6), "scheduled") is not None
    assert join_refusal(CLOCK, START - timedelta(minutes=5), "scheduled") is None
    assert join_refusal(CLOCK, START + timedelta(minutes=1), "scheduled") is None
    assert join_refusal(CLOCK, START + timedelta(minutes=2), "scheduled") is not None


def test_rejoining_an_active_session_is_allowed_but_not_a_cancelled_one() -> None:
    assert join_refusal(CLOCK, START + timedelta(minutes=30), "active") is None
    assert join_refusal(CLOCK, START, "cancelled") == "the session is cancelled"


def test_an_active_session_cannot_be_cancelled_only_ended() -> None:
    assert cancel_refusal(CLOCK, START, "scheduled") is None
    assert "end it instead" in (cancel_refusal(CLOCK, START, "active") or "")
    assert end_refusal("active") is None
    assert "not started" in (end_refusal("scheduled") or "")
    assert end_refusal("completed") is not None


def test_a_no_show_at_three_oh_two_rematches_who_came_at_three_ten() -> None:
    outcome = no_show((A, B), frozenset({"user-a"}), START + timedelta(minutes=2), 10)
    assert outcome.reason == CancelReason.NO_SHOW
    assert outcome.no_show_request_ids == ("req-b",)
    assert outcome.rematch == (A,)
    assert outcome.rematch_slot == START + timedelta(minutes=10)


def test_when_nobody_came_both_are_no_shows_and_nobody_is_rematched() -> None:
    outcome = no_show((A, B), frozenset(), START + timedelta(minutes=2), 10)
    assert outcome.no_show_request_ids == ("req-a", "req-b")
    assert outcome.rematch == () and outcome.rematch_slot is None


def test_a_cancel_after_the_no_show_deadline_is_refused_the_no_show_rules_decide() -> None:
    assert cancel_refusal(CLOCK, START + timedelta(minutes=1), "scheduled") is None
    refusal = cancel_refusal(CLOCK, START + timedelta(minutes=2), "scheduled")
    assert refusal is not None and "no-show window" in refusal


def test_cancelling_before_the_start_rematches_the_partner_into_the_same_slot() -> None:
    before = START - timedelta(minutes=5)
    outcome = cancellation((A, B), CancelReceipt("user-b", before), frozenset(), CLOCK, before, 10)
    assert outcome.reason == CancelReason.CANCELLED_BY_USER and outcome.cancelled_by == "user-b"
    assert outcome.cancelled_request_ids == ("req-b",)
    assert outcome.rematch == (A,) and outcome.rematch_slot == START


def test_a_cancel_received_before_the_start_but_carried_out_after_it_rematches_into_the_next_slot(
) -> None:
    receipt = CancelReceipt("user-b", START - timedelta(seconds=5))
    later = START + timedelta(minutes=3)
    outcome = cancellation((A, B), receipt, frozenset(), CLOCK, later, 10)
    # Judged when it arrived, not when processed.
    assert outcome.reason == CancelReason.CANCELLED_BY_USER
    assert outcome.rematch == (A,) and outcome.rematch_slot == START + timedelta(minutes=10)


def test_cancelling_after_the_start_is_the_cancellers_no_show() -> None:
    after_start = START + timedelta(seconds=30)
    receipt = CancelReceipt("user-b", after_start)
    outcome = cancellation((A, B), receipt, frozenset({"user-a"}), CLOCK, after_start, 10)
    assert outcome.reason == CancelReason.NO_SHOW
    assert outcome.cancelled_request_ids == ("req-b",) and outcome.no_show_request_ids == ()
    assert outcome.rematch == (A,) and outcome.rematch_slot == START + timedelta(minutes=10)


def test_cancelling_after_the_start_when_the_partner_is_absent_makes_them_a_no_show_too() -> None:
    after_start = START + timedelta(seconds=30)
    receipt = CancelReceipt("user-b", after_start)
    outcome = cancellation((A, B), receipt, frozenset(), CLOCK, after_start, 10)
    assert outcome.cancelled_request_ids == ("req-b",)
    assert outcome.no_show_request_ids == ("req-a",)
    assert outcome.rematch == () and outcome.rematch_slot is None


def test_before_the_deadline_a_session_nobody_cancelled_is_left_alone() -> None:
    assert settlement((A, B), frozenset(), None, CLOCK, START + timedelta(minutes=1), 10) is None


def test_at_the_deadline_a_session_both_joined_is_left_alone() -> None:
    both = frozenset({"user-a", "user-b"})
    assert settlement((A, B), both, None, CLOCK, START + timedelta(minutes=5), 10) is None


def test_at_the_deadline_whoever_did_not_join_is_a_no_show() -> None:
    at = START + timedelta(minutes=2)
    joined_a = frozenset({"user-a"})
    assert settlement((A, B), joined_a, None, CLOCK, at, 10) == no_show((A, B), joined_a, at, 10)


def test_a_cancel_that_reached_parley_before_the_deadline_wins_over_the_no_show_verdict() -> None:
    # B cancelled before the start while the workers were down; they came back after the deadline.
    receipt = CancelReceipt("user-b", START - timedelta(minutes=1))
    outcome = settlement((A, B), frozenset(), receipt, CLOCK, START + timedelta(minutes=4), 10)
    assert outcome is not None and outcome.reason == CancelReason.CANCELLED_BY_USER
    assert outcome.cancelled_request_ids == ("req-b",) and outcome.no_show_request_ids == ()
    assert outcome.rematch == (A,)


def test_a_cancel_after_the_start_waits_for_the_deadline_while_the_partner_may_still_come() -> None:
    receipt = CancelReceipt("user-b", START + timedelta(seconds=30))
    early = START + timedelta(minutes=1)
    assert settlement((A, B), frozenset(), receipt, CLOCK, early, 10) is None
    # A joins in time: rematched (and B's cancel is B's no-show).
    joined_a = frozenset({"user-a"})
    outcome = settlement((A, B), joined_a, receipt, CLOCK, early, 10)
    assert outcome is not None and outcome.rematch == (A,)
    # A never comes: at the deadline, both are out.
    late = settlement((A, B), frozenset(), receipt, CLOCK, START + timedelta(minutes=2), 10)
    assert late is not None and late.no_show_request_ids == ("req-a",) and late.rematch == ()


def test_once_both_are_there_and_it_is_time_the_session_can_only_be_ended() -> None:
    refusal = cancel_refusal(CLOCK, START + timedelta(seconds=5), "scheduled", both_joined=True)
    assert refusal is not None and "end it instead" in refusal
    just_before = START - timedelta(seconds=5)
    assert cancel_refusal(CLOCK, just_before, "scheduled", both_joined=True) is None
