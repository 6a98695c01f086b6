"""How workflows call activities: local, with one timeout, one retry policy, refusals unwrapped.

Every Parley activity is a short Postgres transaction or an idempotent Temporal call, so each
runs as a local activity: inside the workflow task that asked for it, recorded as one marker,
with no activity task to schedule, dispatch and report back (four history writes and a second
workflow task each, on the server that is Parley's bottleneck).
"""

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
    """Run an activity method locally with Parley's timeout and retry policy, labelled for the UI.

    A business refusal (an activity's non-retryable ApplicationError) is raised as an
    ApplicationError of the same type and message, so that an update's caller sees it as it is.
    """
    try:
        return await workflow.execute_local_activity_method(
            method,
            arg,
            start_to_close_timeout=DB_ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=summary,
        )
    except (ActivityError, ApplicationError) as error:
        raise _refusal(error) from None


def _refusal(error: ActivityError | ApplicationError) -> ApplicationError:
    # Local activities raise the activity's own error; remote ones wrap it in an ActivityError.
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError):
        return ApplicationError(cause.message, type=cause.type, non_retryable=True)
    return ApplicationError(str(error), type="Internal", non_retryable=True)
