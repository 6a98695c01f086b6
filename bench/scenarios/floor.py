"""Scenario 1: how fast a worker shaped like Parley's completes empty workflows on this server."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from bench.context import BenchContext
from bench.floor_workflow import EmptyInput, EmptyWorkflow
from bench.profiles import Profile
from bench.progress import bar
from bench.stats import rate, summary_ms
from devstack.options import REPO_ROOT
from devstack.processes import spawn, stop_all

WARM_UP = 10


async def run(ctx: BenchContext, profile: Profile, logs: Any) -> dict[str, Any]:
    """Start empty workflows `floor_concurrency` at a time; completions per second."""
    task_queue = f"bench-floor-{ctx.run_id}"
    env = dict(os.environ, TEMPORAL_ADDRESS=ctx.target.temporal_address)
    worker = spawn(
        "floor-worker",
        [sys.executable, "-m", "bench.floor_worker", task_queue],
        logs / "floor-worker.log",
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        await _complete(ctx, task_queue, range(WARM_UP), WARM_UP, None)
        before = await ctx.costs.snapshot({"worker": worker.process.pid})
        began = time.monotonic()
        latencies = await _complete(
            ctx,
            task_queue,
            range(WARM_UP, WARM_UP + profile.floor_workflows),
            profile.floor_concurrency,
            bar(profile.floor_workflows, "floor: empty workflows"),
        )
        elapsed = time.monotonic() - began
        after = await ctx.costs.snapshot({"worker": worker.process.pid})
    finally:
        stop_all([worker])
    return {
        "workflows": profile.floor_workflows,
        "concurrency": profile.floor_concurrency,
        "seconds": round(elapsed, 2),
        "workflows_per_second": rate(len(latencies), elapsed),
        "start_to_completion": summary_ms(latencies),
        "cost_per_workflow": ctx.costs.per_unit(before, after, len(latencies)),
    }


async def _complete(
    ctx: BenchContext, task_queue: str, numbers: range, concurrency: int, progress: Any
) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int) -> float:
        async with gate:
            began = time.monotonic()
            await ctx.temporal.execute_workflow(
                EmptyWorkflow.run,
                EmptyInput(number),
                id=f"bench-empty-{ctx.run_id}-{number}",
                task_queue=task_queue,
            )
            if progress is not None:
                progress.update()
            return time.monotonic() - began

    try:
        return list(await asyncio.gather(*map(one, numbers)))
    finally:
        if progress is not None:
            progress.close()
