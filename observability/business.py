"""Business metrics, counted where a change is made durable: after the transaction that made it
commits, and only when it really changed a row, so a retried activity never counts twice.

They go through the Temporal SDK's metric meter, which the worker's Runtime exports with the
SDK's own metrics on one Prometheus endpoint (a meter without telemetry counts nothing, as in
the tests that do not read metrics).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from temporalio.common import MetricMeter

REQUESTS_BOOKED = "parley_requests_booked"
REQUEST_OUTCOMES = "parley_request_outcomes"
MATCH_WAIT = "parley_match_wait_seconds"
SESSIONS_CREATED = "parley_sessions_created"
SESSIONS_ENDED = "parley_sessions_ended"
REBOOK_DELAY = "parley_rebook_delay_seconds"
NO_SHOW_LATENESS = "parley_no_show_decision_lateness_seconds"
PASS_POOL_SIZE = "parley_matchmaker_pass_pool_size"
PASS_PAIRS = "parley_matchmaker_pass_pairs"
PASS_DURATION = "parley_matchmaker_pass_duration_seconds"

# Request outcomes and session outcomes, the only values their `outcome` label takes.
REQUEST_OUTCOME_VALUES = ("matched", "expired", "cancelled", "rescheduled", "no_show")
SESSION_OUTCOME_VALUES = ("completed", "no_show", "cancelled_by_user", "rearranged")

# Seconds; waits run from milliseconds (a hot slot) to days (a booking a month ahead).
WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 604800)
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300)
POOL_BUCKETS = (0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
HISTOGRAM_BUCKETS: Mapping[str, tuple[float, ...]] = {
    MATCH_WAIT: WAIT_BUCKETS,
    REBOOK_DELAY: LATENESS_BUCKETS,
    NO_SHOW_LATENESS: LATENESS_BUCKETS,
    PASS_POOL_SIZE: POOL_BUCKETS,
    PASS_DURATION: (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
}


class BusinessMetrics:
    """Parley's own counters and histograms, on one meter (made once per worker)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._booked = meter.create_counter(REQUESTS_BOOKED, "Match requests booked")
        self._outcomes = meter.create_counter(
            REQUEST_OUTCOMES, "Match requests reaching an outcome, by outcome"
        )
        self._match_wait = meter.create_histogram_float(
            MATCH_WAIT, "Time from booking a request to its match", "s"
        )
        self._created = meter.create_counter(SESSIONS_CREATED, "Sessions created")
        self._ended = meter.create_counter(SESSIONS_ENDED, "Sessions ended, by outcome")
        self._rebook = meter.create_histogram_float(
            REBOOK_DELAY,
            "Time from a no-show deadline to the let-down partner's new request",
            "s",
        )
        self._lateness = meter.create_histogram_float(
            NO_SHOW_LATENESS, "Time from a no-show deadline to the decision taking effect", "s"
        )

    def booked(self, priority: int, count: int = 1) -> None:
        """`count` requests of this priority were inserted."""
        if count:
            self._booked.add(count, {"priority": str(priority)})

    def outcome(self, outcome: str, count: int = 1) -> None:
        """`count` requests reached `outcome` (one of REQUEST_OUTCOME_VALUES)."""
        if count:
            self._outcomes.add(count, {"outcome": outcome})

    def matched(self, waits: Iterable[timedelta]) -> None:
        """Requests newly matched, each with its wait since booking."""
        count = 0
        for wait in waits:
            self._match_wait.record(max(wait.total_seconds(), 0.0))
            count += 1
        self.outcome("matched", count)

    def sessions_created(self, count: int) -> None:
        """New sessions were inserted."""
        if count:
            self._created.add(count)

    def session_ended(self, outcome: str, count: int = 1) -> None:
        """Sessions ended with `outcome` (one of SESSION_OUTCOME_VALUES)."""
        if count:
            self._ended.add(count, {"outcome": outcome})

    def rebooked(self, after_deadline: timedelta) -> None:
        """A let-down partner's new request was inserted this long after the no-show deadline."""
        self._rebook.record(max(after_deadline.total_seconds(), 0.0))

    def no_show_decided(self, after_deadline: timedelta) -> None:
        """A session was cancelled as a no-show this long after its deadline."""
        self._lateness.record(max(after_deadline.total_seconds(), 0.0))


# For activities built without a worker's meter (tests, tools): counts go nowhere.
NO_METRICS = BusinessMetrics(MetricMeter.noop)
