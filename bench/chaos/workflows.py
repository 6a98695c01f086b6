"""What Temporal says: whether the run has settled, and whether any workflow is stuck or failed."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TypeVar

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError

from bench.chaos.checks import Check
from bench.chaos.facts import Facts
from contracts import naming
from contracts.requests import MatchRequestResult
from contracts.sessions import SessionResult
from workflows.match_request import MatchRequestWorkflow
from workflows.session import SessionWorkflow

BROKEN = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.CANCELED,
}
NON_DETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
HISTORIES_AT_ONCE = 8
T = TypeVar("T")


async def running(client: Client) -> int | None:
    """How many request and session workflows are running (a day's matchmaker runs until its
    day's last slot, idle once its slots have passed); None while Temporal does not answer."""
    try:
        # Two counts: the dev server's SQLite visibility has no `!=` on the workflow type.
        everything = (await client.count_workflows("ExecutionStatus = 'Running'")).count
        matchmakers = await client.count_workflows(
            f"ExecutionStatus = 'Running' AND WorkflowType = '{naming.MATCHMAKER_WORKFLOW}'"
        )
        return everything - matchmakers.count
    except RPCError:
        return None


async def no_workflow_stuck_or_failed(client: Client) -> Check:
    """g. After the run settled: no workflow failed, timed out, was terminated or still runs,
    and no history holds a workflow task that failed on non-determinism."""
    check = Check("g", "no workflow is stuck or failed")
    executions = [execution async for execution in client.list_workflows()]
    statuses: Counter[str] = Counter()
    for execution in executions:
        status = execution.status.name if execution.status else "UNKNOWN"
        statuses[f"{execution.workflow_type} {status}"] += 1
        waits_for_its_day = (
            execution.workflow_type == naming.MATCHMAKER_WORKFLOW
            and execution.status == WorkflowExecutionStatus.RUNNING
        )
        if execution.status in BROKEN or (
            execution.status == WorkflowExecutionStatus.RUNNING and not waits_for_its_day
        ):
            check.fail(f"{execution.id} ({execution.workflow_type}) is {status}")
    check.checked = len(executions)
    gate = asyncio.Semaphore(HISTORIES_AT_ONCE)
    task_failures: Counter[str] = Counter()

    async def read(execution: WorkflowExecution) -> None:
        async with gate:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    attributes = event.workflow_task_failed_event_attributes
                    task_failures[WorkflowTaskFailedCause.Name(attributes.cause)] += 1
                    if attributes.cause == NON_DETERMINISM:
                        check.fail(f"{execution.id}: non-deterministic workflow task")
                elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                    task_failures["workflow task timed out"] += 1

    await asyncio.gather(*map(read, executions))
    check.figures["workflows"] = dict(sorted(statuses.items()))
    check.figures["workflow_task_failures"] = dict(sorted(task_failures.items()))
    return check


async def workflows_agree_with_rows(client: Client, facts: Facts) -> Check:
    """i. How each closed session and request workflow says it ended is what Postgres holds:
    a session's status and reason, the rematches it started, a request's final status."""
    check = Check("i", "every workflow's outcome agrees with Postgres")
    sessions = await _results(client, SessionWorkflow, SessionResult)
    requests = await _results(client, MatchRequestWorkflow, MatchRequestResult)
    for result in sessions:
        check.checked += 1
        row = facts.sessions.get(result.session_id)
        said = (result.status, result.cancel_reason)
        if row is None or (row.status, row.cancel_reason) != said:
            held = (row.status, row.cancel_reason) if row else "no row"
            check.fail(f"session {result.session_id}: its workflow ended {said}, Postgres: {held}")
        for rematch_id in result.rematch_request_ids:
            rematch = facts.requests.get(rematch_id)
            if rematch is None or rematch.origin_session_id != result.session_id:
                check.fail(f"session {result.session_id} started rematch {rematch_id}: no such row")
    for finished in requests:
        check.checked += 1
        request = facts.requests.get(finished.request_id)
        if finished.status in ("refused", "abandoned"):
            # Refused by the database, or abandoned after its caller got a 503: it booked nothing.
            if request is not None:
                check.fail(f"request {finished.request_id}: ended {finished.status}, yet booked")
            continue
        # Once matched, the session takes over the request (no-show, cancel): only the states
        # the request's own workflow decides must match.
        allowed = (
            {"matched", "no_show", "cancelled"}
            if finished.status == "matched"
            else {finished.status}
        )
        if request is None or request.status not in allowed:
            held = request.status if request else "no row"
            ended = f"its workflow ended {finished.status}"
            check.fail(f"request {finished.request_id}: {ended}, Postgres: {held}")
    return check


async def _results(client: Client, workflow: type, result_type: type[T]) -> list[T]:
    """The result of the latest completed run of each `workflow` id: an earlier run of the same
    id (a booking abandoned after its 503, then retried with the same key) did nothing."""
    query = f"WorkflowType = '{workflow.__name__}' AND ExecutionStatus = 'Completed'"
    gate = asyncio.Semaphore(HISTORIES_AT_ONCE)
    latest: dict[str, WorkflowExecution] = {}
    async for execution in client.list_workflows(query):
        known = latest.get(execution.id)
        if known is None or execution.start_time > known.start_time:
            latest[execution.id] = execution

    async def result(execution: WorkflowExecution) -> T:
        async with gate:
            handle = client.get_workflow_handle(
                execution.id, run_id=execution.run_id, result_type=result_type
            )
            found: T = await handle.result(follow_runs=False)
            return found

    return list(await asyncio.gather(*map(result, latest.values())))
