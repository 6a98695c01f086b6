"""The chaos scenario: simulated users on a scaled-out stack (two workers, two APIs) while
workers are killed and paused across no-show deadlines, Postgres connections are terminated and
the Temporal dev server restarts; then, once everything has settled, the invariants are checked
in Postgres and in Temporal. Any violation makes `python -m bench --only chaos` exit non-zero."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.chaos import checks, facts, no_show_checks, workflows
from bench.chaos.calls import RecordingApi, write_calls
from bench.chaos.faults import (
    KILL_WORKER,
    RESTART_TEMPORAL,
    STOP_WORKERS,
    TERMINATE_POSTGRES,
    FaultInjector,
    PlannedFault,
)
from bench.chaos.timeline import Timeline
from bench.chaos.workload import Workload
from bench.context import BenchContext
from bench.environment import Shape
from bench.profiles import Profile

# Two worker and two API processes, as a scaled-out deployment runs them; a no-show grace long
# enough to pause both workers across its deadline while joins are in flight.
SHAPE = Shape(
    workers=2,
    apis=2,
    environment={"PARLEY_NO_SHOW_GRACE_SECONDS": "10", "PARLEY_REARRANGE_AFTER_QUIET_SECONDS": "5"},
)
WORKERS = ("worker", "worker-2")
FIRST_SLOT_LEAD = timedelta(seconds=25)
# A 503 answered this long after a fault ended is still the fault's (the worker catching up,
# the server's pollers coming back); later ones are violations.
FAULT_MARGIN = timedelta(seconds=15)
# Clocks on one machine agree; this is the time a call takes to reach the API and be stamped.
DEADLINE_SKEW = timedelta(seconds=1)
SETTLE_MARGIN = timedelta(seconds=5)
SETTLE_BOUND = timedelta(seconds=150)


def fault_plan(timeline: Timeline) -> list[PlannedFault]:
    """Faults at fixed points of each slot: before every other start a worker is killed (the
    two in turn) and Postgres connections are terminated; across the deadline of the first and
    fourth slot of every four both workers are paused, across the third's one of them; the
    Temporal dev server restarts after the second and fourth deadline and after the last."""
    plan: list[PlannedFault] = []
    for i, start in enumerate(timeline.slots):
        deadline = timeline.deadline(start)
        second = timedelta(seconds=1)
        if i % 2 == 0:
            target = (WORKERS[(i // 2) % 2],)
            plan.append(PlannedFault(KILL_WORKER, start - 20 * second, 4, target))
            plan.append(PlannedFault(TERMINATE_POSTGRES, start - 9 * second))
        if i % 4 in (0, 3):
            plan.append(PlannedFault(STOP_WORKERS, deadline - 6 * second, 14, WORKERS))
        if i % 4 == 2:
            plan.append(PlannedFault(STOP_WORKERS, deadline - 5 * second, 12, WORKERS[:1]))
        if i % 2 == 1 or i == len(timeline.slots) - 1:
            plan.append(PlannedFault(RESTART_TEMPORAL, deadline + 14 * second))
    return plan


async def run(ctx: BenchContext, profile: Profile, seed: int, calls_path: Path) -> dict[str, Any]:
    """Drive the users through the faults, wait until everything settled, check everything;
    every HTTP call the users made goes to `calls_path`, one JSON object a line."""
    stack = ctx.target.stack
    if stack is None:
        raise SystemExit("the chaos scenario needs a stack it started itself (not --attach)")
    began = datetime.now(UTC)
    grace = timedelta(seconds=ctx.target.settings.no_show_grace_seconds)
    first = ctx.slot_at_least(FIRST_SLOT_LEAD)
    step = timedelta(minutes=ctx.slot_minutes)
    slots = tuple(first + i * step for i in range(profile.chaos_slots))
    timeline = Timeline(slots, slots[-1] + step, grace)
    api = RecordingApi(ctx.target.api_urls, ctx.target.settings.signing_secret())
    users = [ctx.user("chaos") for _ in range(profile.chaos_users)]
    workload = Workload(
        api, users, timeline, ctx.language_pairs(profile.chaos_language_pairs), seed
    )
    injector = FaultInjector(stack, ctx.engine)
    sampler = facts.OverlapSampler(ctx.engine)
    stop = asyncio.Event()
    background = [
        asyncio.ensure_future(workload.run(stop)),
        asyncio.ensure_future(sampler.run(stop)),
    ]
    try:
        await injector.run(fault_plan(timeline))
        settled = await _settle(ctx, timeline)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        await api.close()
    figures = await _judge(ctx, workload, api, injector, sampler, grace)
    await asyncio.to_thread(write_calls, calls_path, api.calls)
    return {
        "calls_file": str(calls_path),
        "settled": settled,
        "seconds": round((datetime.now(UTC) - began).total_seconds(), 1),
        "users": len(users),
        "slots": [slot.isoformat() for slot in slots],
        **figures,
    }


async def _settle(ctx: BenchContext, timeline: Timeline) -> bool:
    """Wait until the last slot (the spare one) is past its deadline, every request's last slot
    start has passed, and no request or session workflow has run
    for two looks in a row (workflows make every change, so nothing will change after that);
    False if that did not happen in time."""
    quiet_after = timeline.deadline(timeline.spare_slot) + SETTLE_MARGIN
    idle_looks = 0
    while datetime.now(UTC) < quiet_after + SETTLE_BOUND:
        await asyncio.sleep(2)
        # A rematch waits through its window (PARLEY_REBOOK_WINDOW_MINUTES past its first slot).
        [(last_start,)] = await ctx.rows("SELECT max(availability_end) FROM match_requests")
        if last_start is not None:
            quiet_after = max(quiet_after, last_start + SETTLE_MARGIN)
        idle = await workflows.running(ctx.temporal) == 0
        idle_looks = idle_looks + 1 if idle else 0
        if idle_looks >= 2 and datetime.now(UTC) >= quiet_after:
            return True
    return False


async def _judge(
    ctx: BenchContext,
    workload: Workload,
    api: RecordingApi,
    injector: FaultInjector,
    sampler: facts.OverlapSampler,
    grace: timedelta,
) -> dict[str, Any]:
    seen = await facts.load(ctx.engine)
    refusals = {
        session.id: [session.rematch_refusal]
        for session in seen.sessions.values()
        if session.rematch_refusal
    }
    results = [
        checks.no_double_booking(
            seen, sampler.found, await facts.held_overlaps(ctx.engine), sampler.samples
        ),
        checks.sessions_agree_with_requests(seen, workload.actions),
        checks.nothing_waits_after_its_start(seen),
        checks.nothing_scheduled_after_its_deadline(seen, grace),
        no_show_checks.let_down_people_are_rematched(seen, refusals),
        no_show_checks.nobody_in_time_is_a_no_show(seen, workload.actions, grace, DEADLINE_SKEW),
        await workflows.no_workflow_stuck_or_failed(ctx.temporal),
        checks.only_503s_during_faults(api.calls, injector.windows, FAULT_MARGIN),
        await workflows.workflows_agree_with_rows(ctx.temporal, seen),
    ]
    violations = sum(len(check.violations) for check in results)
    sessions = Counter(
        f"{s.status} ({s.cancel_reason})" if s.cancel_reason else s.status
        for s in seen.sessions.values()
    )
    return {
        "violations": violations,
        "checks": {check.key: check.as_json() for check in results},
        "faults": [window.as_json() for window in injector.windows],
        "calls": dict(sorted(Counter(f"{c.endpoint} {c.status}" for c in api.calls).items())),
        "calls_per_api": dict(sorted(Counter(str(c.api) for c in api.calls).items())),
        "actions": dict(
            sorted(
                Counter(f"{a.plan or a.kind} {a.outcome.status}" for a in workload.actions).items()
            )
        ),
        "plans": dict(sorted(workload.plans.items())),
        "requests": dict(Counter(r.status for r in seen.requests.values())),
        "sessions": dict(sessions),
        "settings": {
            "no_show_grace_seconds": grace.total_seconds(),
            "deadline_skew_seconds": DEADLINE_SKEW.total_seconds(),
            "fault_margin_seconds": FAULT_MARGIN.total_seconds(),
        },
    }
