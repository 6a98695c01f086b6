"""How workflows call activities: one timeout, one retry policy, refusals unwrapped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

DB_ACTIVITY_TIMEOUT = timedelta(seconds=30)

# Database and Temporal hiccups are retried for a long time with backoff; business refusals
# are raised as non-retryable ApplicationErrors and stop at once.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)


async def run_activity(
    method: Callable[[Any, ArgT], Awaitable[ResultT]], arg: ArgT, summary: str
) -> ResultT:
    """Run an activity method with Parley's timeout and retry policy, labelled for the UI."""
    return await workflow.execute_activity_method(
        method,
        arg,
        start_to_close_timeout=DB_ACTIVITY_TIMEOUT,
        retry_policy=DB_RETRY,
        summary=summary,
    )


def business_error(error: ActivityError) -> ApplicationError:
    """The refusal an activity raised, re-raised as is so an update's caller sees its type."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return ApplicationError(cause.message, type=cause.type, non_retryable=True)
    return ApplicationError(str(error), type="Internal", non_retryable=True)
