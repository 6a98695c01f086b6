"""Scenario 5 and the hot scenarios' checks: history lengths and Temporal Cloud actions, read
from Temporal's own histories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionStatus

from bench import actions
from bench.context import BenchContext
from bench.stats import percentile
from contracts import naming
from contracts.naming import match_request_workflow_id, matchmaker_workflow_id, session_workflow_id
from domain.matching import language_pair
from domain.slots import day_start
from workflows.matchmaker import MatchmakerWorkflow


@dataclass(frozen=True)
class RunHistory:
    """One run's length in events and its billable actions by kind."""

    events: int
    actions: Counter[str] = field(default_factory=Counter)


def billing_event(event: HistoryEvent) -> actions.Event:
    """What `bench.actions` needs of a history event."""
    return actions.Event(
        type=EventType.Name(event.event_type),
        marker_name=event.marker_recorded_event_attributes.marker_name,
        attempt=event.activity_task_started_event_attributes.attempt,
        local_activity_retries=(
            event.workflow_task_completed_event_attributes.metering_metadata.nonfirst_local_activity_execution_attempts
        ),
    )


async def run_history(ctx: BenchContext, workflow_id: str, run_id: str | None = None) -> RunHistory:
    """One run's events and actions (the latest run when `run_id` is None)."""
    handle = ctx.temporal.get_workflow_handle(workflow_id, run_id=run_id)
    events = (await handle.fetch_history()).events
    return RunHistory(len(events), actions.count_actions([billing_event(e) for e in events]))


async def _runs(ctx: BenchContext, query: str) -> list[dict[str, Any]]:
    """Every matchmaker run the visibility query finds: its events, actions and, if it is
    running, its pool."""
    runs = []
    async for execution in ctx.temporal.list_workflows(query):
        waiting: list[str] = []
        if execution.status == WorkflowExecutionStatus.RUNNING:
            handle = ctx.temporal.get_workflow_handle(execution.id, run_id=execution.run_id)
            waiting = (await handle.query(MatchmakerWorkflow.state)).waiting_request_ids
        history = await run_history(ctx, execution.id, execution.run_id)
        runs.append(
            {
                "workflow_id": execution.id,
                "run_id": execution.run_id,
                "events": history.events,
                "actions": history.actions,
                "waiting_request_ids": waiting,
            }
        )
    return runs


async def matchmaker_runs(ctx: BenchContext, moment: datetime) -> list[dict[str, Any]]:
    """Every run of every matchmaker of the UTC day of `moment` (`ParleySlotStart` is the day's
    00:00 UTC)."""
    # A range, not `=`: the dev server's SQLite visibility compares the stored text form.
    day = day_start(moment)
    since, until = (t.isoformat() for t in (day, day + timedelta(seconds=1)))
    return await _runs(
        ctx,
        f"{naming.KIND.name} = '{naming.MATCHMAKER}' "
        f"AND {naming.SLOT_START.name} >= '{since}' AND {naming.SLOT_START.name} < '{until}'",
    )


async def shard_runs(ctx: BenchContext, workflow_id: str) -> list[dict[str, Any]]:
    """Every run of one matchmaker."""
    return await _runs(ctx, f"WorkflowId = '{workflow_id}'")


# The pairs a slot seated: every session but those rearranged to make way for two others.
PAIRS_SEATED = (
    "SELECT count(*) FROM sessions WHERE scheduled_start = :slot"
    " AND cancel_reason IS DISTINCT FROM 'rearranged'"
)
# The pairs a shard (UTC day, duration, language pair) seated.
SHARD_PAIRS_SEATED = (
    "SELECT count(*) FROM sessions WHERE scheduled_start >= :day"
    " AND scheduled_start < CAST(:day AS timestamptz) + interval '1 day'"
    " AND duration_minutes = :duration"
    " AND least(language_one_id, language_two_id) = :one"
    " AND greatest(language_one_id, language_two_id) = :two"
    " AND cancel_reason IS DISTINCT FROM 'rearranged'"
)
# The workflows a pair's figures are split by, in the report's order.
PARTS = ("request_one", "request_two", "session", "matchmaker_share")


@dataclass(frozen=True)
class _Share:
    """A shard's matchmaker runs, divided by the pairs it seated."""

    events: float
    actions: dict[str, float]


async def _shard_share(
    ctx: BenchContext, slot: datetime, duration: int, one: str, two: str
) -> _Share:
    languages = language_pair(one, two)
    runs = await shard_runs(ctx, matchmaker_workflow_id(slot, duration, languages))
    [(seated,)] = await ctx.rows(
        SHARD_PAIRS_SEATED,
        day=day_start(slot),
        duration=duration,
        one=languages[0],
        two=languages[1],
    )
    seated = max(1, seated)
    summed: Counter[str] = Counter()
    for run in runs:
        summed.update(run["actions"])
    return _Share(
        events=sum(run["events"] for run in runs) / seated,
        actions={kind: count / seated for kind, count in summed.items()},
    )


async def events_per_pair(ctx: BenchContext, session_ids: list[str]) -> dict[str, Any]:
    """For each session: both requests' histories, its own, and its share of its matchmaker's
    runs (all the runs of its shard over the pairs the shard seated); in events, and in Temporal
    Cloud actions in total, by workflow and by kind."""
    per_pair: list[float] = []
    actions_per_pair: list[float] = []
    by_part = {part: dict.fromkeys(actions.KINDS, 0.0) for part in PARTS}
    shares: dict[tuple[datetime, int, str, str], _Share] = {}
    for session_id in session_ids:
        [(one, two, slot, duration, language_one, language_two)] = await ctx.rows(
            "SELECT match_request_one_id::text, match_request_two_id::text, scheduled_start, "
            "duration_minutes, language_one_id, language_two_id "
            "FROM sessions WHERE id = CAST(:id AS uuid)",
            id=session_id,
        )
        key = (day_start(slot), duration, *language_pair(language_one, language_two))
        if key not in shares:
            shares[key] = await _shard_share(ctx, slot, duration, language_one, language_two)
        share = shares[key]
        histories = {
            "request_one": await run_history(ctx, match_request_workflow_id(one)),
            "request_two": await run_history(ctx, match_request_workflow_id(two)),
            "session": await run_history(ctx, session_workflow_id(session_id)),
        }
        per_pair.append(sum(h.events for h in histories.values()) + share.events)
        counted: dict[str, Mapping[str, float]] = {
            **{part: history.actions for part, history in histories.items()},
            "matchmaker_share": share.actions,
        }
        for part, counts in counted.items():
            for kind, value in counts.items():
                by_part[part][kind] += value
        actions_per_pair.append(sum(sum(counts.values()) for counts in counted.values()))
    pairs = len(per_pair)
    return {
        "pairs": pairs,
        "mean": round(sum(per_pair) / pairs, 1) if per_pair else None,
        "p50": percentile(per_pair, 0.5),
        "max": max(per_pair, default=None),
        "actions": {
            "mean": round(sum(actions_per_pair) / pairs, 2) if pairs else None,
            "max": round(max(actions_per_pair), 2) if pairs else None,
            "by_workflow": {
                part: round(sum(counts.values()) / pairs, 2) if pairs else 0.0
                for part, counts in by_part.items()
            },
            "by_kind": actions.mean_by_kind(by_part.values(), pairs),
            "by_workflow_and_kind": {
                part: actions.mean_by_kind([counts], pairs) for part, counts in by_part.items()
            },
        },
    }
