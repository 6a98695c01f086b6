"""Refusal codes: the `ApplicationError` types activities raise and the API answers by."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

DOUBLE_BOOKING = "DoubleBooking"
STATE_CONFLICT = "StateConflict"
INVALID_INPUT = "InvalidInput"
NOT_FOUND = "NotFound"
LIMIT_REACHED = "LimitReached"
# The caller stopped waiting before a worker acted: nothing was done (the caller got a 503).
ABANDONED = "Abandoned"


def refusal(error_type: str, message: str) -> ApplicationError:
    """A business refusal: final, so Temporal must not retry it."""
    return ApplicationError(message, type=error_type, non_retryable=True)
