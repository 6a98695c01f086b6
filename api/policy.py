"""Settings turned into the rule objects the domain and the workflows take."""

from __future__ import annotations

from contracts.policy import Policy
from domain.booking import BookingPolicy
from settings import Settings


def booking_policy(settings: Settings) -> BookingPolicy:
    """What a new booking must satisfy."""
    return BookingPolicy(
        slot_minutes=settings.slot_minutes,
        horizon_days=settings.booking_horizon_days,
        max_window_hours=settings.max_window_hours,
    )


def workflow_policy(settings: Settings) -> Policy:
    """The timing rules copied into each workflow's input."""
    return Policy(
        slot_minutes=settings.slot_minutes,
        join_opens_minutes=settings.join_opens_minutes,
        no_show_grace_seconds=settings.no_show_grace_seconds,
        rearrange_after_quiet_seconds=settings.rearrange_after_quiet_seconds,
        receipt_skew_seconds=settings.receipt_skew_seconds,
        widen_levels_minutes=settings.widen_levels_minutes,
        rebook_window_minutes=settings.rebook_window_minutes,
        rank_by_reliability=settings.rank_by_reliability,
        remind_before_minutes=settings.remind_before_minutes,
    )
