"""What metrics cost: the maximum rate as a ratio to the floor, on a stack with metrics (the
worker's Temporal runtime serving Prometheus, the API's /metrics) and on one without
(`PARLEY_METRICS_ENABLED=false`), in one run, alternating so that the machine's drift hits both.
Beside it, the CPU the worker and the API spent per accepted request at the maximum rate: on a
machine shared with other work the rate swings by tens of percent, the CPU per request much less.
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
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    rounds = []
    for index in range(ROUNDS):
        for label, enabled in (("on", "true"), ("off", "false")):
            shape = Shape(environment={"PARLEY_METRICS_ENABLED": enabled})
            with started_stack(data_dir, shape) as target:
                figures = asyncio.run(_measure(target, profile, logs, open_context))
            ratios[label].append(figures["ratio"])
            cpu[label].append(figures["worker_api_cpu_ms_per_request"])
            rounds.append({"round": index + 1, "metrics": label, **figures})
    on, off = statistics.mean(ratios["on"]), statistics.mean(ratios["off"])
    cpu_on, cpu_off = statistics.mean(cpu["on"]), statistics.mean(cpu["off"])
    return {
        "ratio_with_metrics": round(on, 3),
        "ratio_without_metrics": round(off, 3),
        "overhead_percent": round(100 * (off - on) / off, 1) if off else None,
        "worker_api_cpu_ms_per_request_with_metrics": round(cpu_on, 2),
        "worker_api_cpu_ms_per_request_without": round(cpu_off, 2),
        "cpu_overhead_percent": round(100 * (cpu_on - cpu_off) / cpu_off, 1) if cpu_off else None,
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
        record = await steady.saturate(ctx, profile)
        maximum = record.figures(floor_figures["workflows_per_second"])
    finally:
        await ctx.api.close()
        await ctx.engine.dispose()
    return {
        "floor_workflows_per_second": floor_figures["workflows_per_second"],
        "matched_requests_per_second": maximum["matched_requests_per_second"],
        "ratio": maximum.get("matched_per_second_vs_floor", 0.0),
        "worker_api_cpu_ms_per_request": round(
            sum(
                ms
                for part, ms in record.cost_per_request.get("cpu_ms", {}).items()
                if part.startswith(("worker", "api"))
            ),
            2,
        ),
    }
