"""Timeouts and retry policies shared by the workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DB_ACTIVITY_TIMEOUT = timedelta(seconds=30)

# Database and Temporal hiccups are retried for a long time with backoff; business refusals
# are raised as non-retryable ApplicationErrors and stop at once.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)
