"""The matchmaker's per-pass metrics: pool size, pairs made, pass duration.

Recorded through the workflow's metric meter, which the SDK leaves silent while it replays a
history, so a pass counts once however often its task is replayed.
"""

from __future__ import annotations

import time

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from observability.business import PASS_DURATION, PASS_PAIRS, PASS_POOL_SIZE


class PassMetrics:
    """Made once per matchmaker run; `started()` then `record()` around each pass."""

    def __init__(self) -> None:
        meter = workflow.metric_meter()
        self._pool = meter.create_histogram(PASS_POOL_SIZE, "Requests in the pool at a pass")
        self._pairs = meter.create_counter(PASS_PAIRS, "Pairs a pass made")
        self._duration = meter.create_histogram_float(PASS_DURATION, "A pass's duration", "s")

    def started(self) -> float:
        """The moment a pass starts, on the worker's clock (for its duration only)."""
        with workflow.unsafe.sandbox_unrestricted():
            return time.perf_counter()

    def record(self, started: float, pool_size: int, pairs: int) -> None:
        """What a pass saw and did, and how long it took."""
        with workflow.unsafe.sandbox_unrestricted():
            elapsed = time.perf_counter() - started
        self._pool.record(pool_size)
        if pairs:
            self._pairs.add(pairs)
        self._duration.record(elapsed)
