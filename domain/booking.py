"""Booking rules a match request or a reschedule must satisfy before it is accepted."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import RuleViolation
from domain.levels import Level
from domain.requests import MatchRequest
from domain.slots import is_on_grid, require_aware


@dataclass(frozen=True)
class BookingPolicy:
    """The tunable limits of booking: slot grid, horizon and session lengths."""

    slot_minutes: int = 10
    horizon_days: int = 30
    min_duration_minutes: int = 15
    max_duration_minutes: int = 120
    # The longest availability window, from its first slot start to its last.
    max_window_hours: int = 6


_LEVEL_VALUES = frozenset(level.value for level in Level)
_LEVEL_NAMES = ", ".join(level.value for level in Level)


def validate_request(
    request: MatchRequest,
    *,
    now: datetime,
    policy: BookingPolicy,
    known_languages: frozenset[str],
) -> None:
    """Raise RuleViolation for the first rule the request breaks; return None if it is bookable."""
    for field, language in (
        ("native_language_id", request.native_language_id),
        ("learning_language_id", request.learning_language_id),
    ):
        if language not in known_languages:
            raise RuleViolation(field, f"unknown language {language!r}")
    if request.learning_language_id == request.native_language_id:
        raise RuleViolation("learning_language_id", "must differ from native_language_id")
    if request.proficiency_level not in _LEVEL_VALUES:
        raise RuleViolation("proficiency_level", f"must be one of {_LEVEL_NAMES}")
    low, high = policy.min_duration_minutes, policy.max_duration_minutes
    if not low <= request.preferred_duration_minutes <= high:
        raise RuleViolation(
            "preferred_duration_minutes", f"must be between {low} and {high} minutes"
        )
    _check_slot_start("availability_start", request.availability_start, now=now, policy=policy)
    if request.availability_end is not None:
        check_window_end(request.availability_start, request.availability_end, policy=policy)


def check_window_end(start: datetime, end: datetime, *, policy: BookingPolicy) -> None:
    """Raise RuleViolation unless `end` closes a window that starts at the (valid) `start`."""
    # A naive end is refused rather than compared: it names no instant at all.
    if _is_naive(end):
        raise RuleViolation("availability_end", "must carry a timezone offset")
    if not is_on_grid(end, policy.slot_minutes):
        raise RuleViolation(
            "availability_end", f"must lie on the {policy.slot_minutes}-minute slot grid"
        )
    if end < start:
        raise RuleViolation("availability_end", "must not be before availability_start")
    if end - start > timedelta(hours=policy.max_window_hours):
        raise RuleViolation(
            "availability_end",
            f"must be at most {policy.max_window_hours} hours after availability_start",
        )


def validate_reschedule(
    new_start: datetime,
    *,
    now: datetime,
    policy: BookingPolicy,
    new_end: datetime | None = None,
) -> None:
    """Raise RuleViolation unless new_start (and new_end, if given) make a bookable window."""
    _check_slot_start("availability_start", new_start, now=now, policy=policy)
    if new_end is not None:
        check_window_end(new_start, new_end, policy=policy)


def _check_slot_start(field: str, start: datetime, *, now: datetime, policy: BookingPolicy) -> None:
    # The caller's clock must be aware: a naive `now` is a bug, not bad user input.
    now = require_aware(now)
    if _is_naive(start):
        raise RuleViolation(field, "must carry a timezone offset (callers normalise to UTC)")
    if not is_on_grid(start, policy.slot_minutes):
        raise RuleViolation(field, f"must lie on the {policy.slot_minutes}-minute slot grid")
    if start <= now:
        raise RuleViolation(field, "must be in the future")
    if start - now > timedelta(days=policy.horizon_days):
        raise RuleViolation(field, f"must be at most {policy.horizon_days} days ahead")


def _is_naive(t: datetime) -> bool:
    return t.tzinfo is None or t.utcoffset() is None
