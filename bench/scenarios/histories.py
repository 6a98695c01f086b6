"""Scenario 5 and the hot slot's checks: history lengths read from Temporal itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from bench.context import BenchContext
from bench.stats import percentile
from contracts import naming
from contracts.naming import match_request_workflow_id, session_workflow_id
from domain.slots import day_start
from workflows.matchmaker import MatchmakerWorkflow


async def history_length(ctx: BenchContext, workflow_id: str, run_id: str | None = None) -> int:
    """Events in one run's history."""
    handle = ctx.temporal.get_workflow_handle(workflow_id, run_id=run_id)
    return len((await handle.fetch_history()).events)


async def matchmaker_runs(ctx: BenchContext, slot: datetime) -> list[dict[str, Any]]:
    """Every run of every matchmaker of `slot`'s UTC day (a shard is a day): its events and, if
    running, its pool."""
    day = day_start(slot)
    # A range, not `=`: the dev server's SQLite visibility compares the stored text form.
    since, until = (
        moment.astimezone(UTC).isoformat() for moment in (day, day + timedelta(seconds=1))
    )
    query = (
        f"{naming.KIND.name} = '{naming.MATCHMAKER}' "
        f"AND {naming.SLOT_START.name} >= '{since}' "
        f"AND {naming.SLOT_START.name} < '{until}'"
    )
    runs = []
    async for execution in ctx.temporal.list_workflows(query):
        waiting: list[str] = []
        if execution.status == WorkflowExecutionStatus.RUNNING:
            handle = ctx.temporal.get_workflow_handle(execution.id, run_id=execution.run_id)
            waiting = (await handle.query(MatchmakerWorkflow.state)).waiting_request_ids
        runs.append(
            {
                "workflow_id": execution.id,
                "run_id": execution.run_id,
                "events": await history_length(ctx, execution.id, execution.run_id),
                "waiting_request_ids": waiting,
            }
        )
    return runs


# The pairs a slot seated: every session but those rearranged to make way for two others.
PAIRS_SEATED = (
    "SELECT count(*) FROM sessions WHERE scheduled_start = :slot"
    " AND cancel_reason IS DISTINCT FROM 'rearranged'"
)
# The pairs the day of a slot seated (a matchmaker's work spreads over its day).
PAIRS_SEATED_IN_DAY = (
    "SELECT count(*) FROM sessions WHERE scheduled_start >= :day"
    " AND scheduled_start < CAST(:day AS timestamptz) + interval '1 day'"
    " AND cancel_reason IS DISTINCT FROM 'rearranged'"
)


async def events_per_pair(ctx: BenchContext, session_ids: list[str]) -> dict[str, Any]:
    """For each session: both requests' histories, its own, and its share of the matchmakers'."""
    per_pair: list[float] = []
    matchmaker_share: dict[datetime, float] = {}
    for session_id in session_ids:
        [(one, two, slot)] = await ctx.rows(
            "SELECT match_request_one_id::text, match_request_two_id::text, scheduled_start "
            "FROM sessions WHERE id = CAST(:id AS uuid)",
            id=session_id,
        )
        day = day_start(slot)
        if day not in matchmaker_share:
            runs = await matchmaker_runs(ctx, slot)
            [(sessions_in_day,)] = await ctx.rows(PAIRS_SEATED_IN_DAY, day=day)
            matchmaker_share[day] = sum(run["events"] for run in runs) / max(1, sessions_in_day)
        per_pair.append(
            await history_length(ctx, match_request_workflow_id(one))
            + await history_length(ctx, match_request_workflow_id(two))
            + await history_length(ctx, session_workflow_id(session_id))
            + matchmaker_share[day]
        )
    return {
        "pairs": len(per_pair),
        "mean": round(sum(per_pair) / len(per_pair), 1) if per_pair else None,
        "p50": percentile(per_pair, 0.5),
        "max": max(per_pair, default=None),
    }
