"""What metrics cost: the maximum rate as a ratio to the floor, on a stack with metrics (the
worker's Temporal runtime serving Prometheus, the API's /metrics) and on one without
(`PARLEY_METRICS_ENABLED=false`), in one run, alternating so that the machine's drift hits both.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.environment import Shape, Target, started_stack
from bench.profiles import Profile
from bench.scenarios import floor, steady

ROUNDS = 2


def run(
    profile: Profile,
    data_dir: Path | None,
    logs: Path,
    open_context: Callable[[Target], Awaitable[BenchContext]],
) -> dict[str, Any]:
    """`ROUNDS` rounds of (metrics on, metrics off); the mean ratio of each and the overhead."""
    ratios: dict[str, list[float]] = {"on": [], "off": []}
    rounds = []
    for index in range(ROUNDS):
        for label, enabled in (("on", "true"), ("off", "false")):
            shape = Shape(environment={"PARLEY_METRICS_ENABLED": enabled})
            with started_stack(data_dir, shape) as target:
                figures = asyncio.run(_measure(target, profile, logs, open_context))
            ratios[label].append(figures["ratio"])
            rounds.append({"round": index + 1, "metrics": label, **figures})
    on, off = statistics.mean(ratios["on"]), statistics.mean(ratios["off"])
    return {
        "ratio_with_metrics": round(on, 3),
        "ratio_without_metrics": round(off, 3),
        "overhead_percent": round(100 * (off - on) / off, 1) if off else None,
        "rounds": rounds,
    }


async def _measure(
    target: Target,
    profile: Profile,
    logs: Path,
    open_context: Callable[[Target], Awaitable[BenchContext]],
) -> dict[str, Any]:
    ctx = await open_context(target)
    try:
        floor_figures = await floor.run(ctx, profile, logs)
        maximum = (await steady.saturate(ctx, profile)).figures(
            floor_figures["workflows_per_second"]
        )
    finally:
        await ctx.api.close()
        await ctx.engine.dispose()
    return {
        "floor_workflows_per_second": floor_figures["workflows_per_second"],
        "matched_requests_per_second": maximum["matched_requests_per_second"],
        "ratio": maximum.get("matched_per_second_vs_floor", 0.0),
    }
