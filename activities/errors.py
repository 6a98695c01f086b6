"""Translating what PostgreSQL refused into the refusals of `contracts.errors`."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, InternalError
from temporalio.exceptions import ApplicationError

from contracts.errors import (
    DOUBLE_BOOKING,
    INVALID_INPUT,
    LIMIT_REACHED,
    STATE_CONFLICT,
    refusal,
)

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
CLAIM_FAILED = "23P91"
ILLEGAL_TRANSITION = "23P92"
SLOT_STARTED = "23P94"
LIVE_LIMIT = "23P96"
# One of the pair has blocked the other (0006). Not 23P95: the rearrangement check uses it.
BLOCKED_PAIR = "23P97"


def sqlstate(error: IntegrityError | InternalError) -> str | None:
    """The PostgreSQL SQLSTATE behind a SQLAlchemy error, if any."""
    return getattr(error.orig, "sqlstate", None)


def refusal_from_database(error: IntegrityError | InternalError) -> ApplicationError:
    """Translate a constraint the database enforced into a business refusal."""
    state = sqlstate(error)
    if state == EXCLUSION_VIOLATION:
        return refusal(
            DOUBLE_BOOKING, "you already hold a request or session that overlaps this time"
        )
    if state == LIVE_LIMIT:
        return refusal(LIMIT_REACHED, str(error.orig).splitlines()[0])
    if state in (CLAIM_FAILED, ILLEGAL_TRANSITION):
        return refusal(STATE_CONFLICT, str(error.orig).splitlines()[0])
    if state == UNIQUE_VIOLATION:
        return refusal(STATE_CONFLICT, "this request already exists")
    return refusal(INVALID_INPUT, str(error.orig).splitlines()[0])
