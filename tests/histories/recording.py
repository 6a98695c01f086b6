"""Dump the histories of every run of the workflows a test touched, when asked to.

Off unless PARLEY_RECORD_HISTORIES names a directory (`python -m tests.histories.record` sets
it): then each test's workflows are written to <dir>/<test>/<workflow id>/<run index>.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temporalio.api.filter.v1 import WorkflowExecutionFilter, WorkflowTypeFilter
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
)
from temporalio.client import Client

RECORD_ENV = "PARLEY_RECORD_HISTORIES"
MATCH_REQUEST = "MatchRequestWorkflow"
# Request runs an earlier test's recording already looked at (see _requests_without_rows).
_looked_at: set[str] = set()


def recording_to() -> Path | None:
    """Where histories are being recorded, or None (the default: nothing is recorded)."""
    # A test-run switch for the recorder, not configuration of Parley: hence not in settings.py.
    value = os.environ.get(RECORD_ENV)
    return Path(value) if value else None


def current_test() -> str:
    """This test's pytest node id without `tests/`, as a directory name: `test_x.py::test_y`."""
    node = os.environ.get("PYTEST_CURRENT_TEST", "unknown (call)").rsplit(" ", 1)[0]
    return node.removeprefix("tests/").replace("/", ".")


async def record_histories(
    client: Client, workflow_ids: Iterable[str], user_suffix: str | None = None
) -> None:
    """Write every run of each workflow to the recording directory, if one is set; with
    `user_suffix`, also every request of users whose id ends so that booked nothing."""
    target = recording_to()
    if target is None:
        return
    test_dir = target / current_test()
    found = set(workflow_ids)
    if user_suffix is not None:
        found |= await _requests_without_rows(client, user_suffix)
    for workflow_id in sorted(found):
        for index, run_id in enumerate(await runs_of(client, workflow_id)):
            handle = client.get_workflow_handle(workflow_id, run_id=run_id)
            history = await handle.fetch_history()
            path = test_dir / workflow_id / f"{index}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(history.to_json())


async def runs_of(client: Client, workflow_id: str) -> list[str]:
    """Every run id of a workflow id, oldest first: continued-as-new chains and separate
    executions alike (a booking retried after it was abandoned reuses its id)."""
    only = WorkflowExecutionFilter(workflow_id=workflow_id)
    executions = await _closed(client, execution_filter=only)
    running = await client.workflow_service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=client.namespace, execution_filter=only)
    )
    executions += running.executions
    executions.sort(key=lambda e: (e.start_time.ToDatetime(), e.close_time.ToDatetime()))
    return list(dict.fromkeys(e.execution.run_id for e in executions))


async def _closed(client: Client, **filters: Any) -> list[WorkflowExecutionInfo]:
    """Closed executions matching a filter: the listing both the time-skipping server (which
    has no `list_workflows`) and the dev server answer."""
    executions: list[WorkflowExecutionInfo] = []
    token = b""
    while True:
        page = await client.workflow_service.list_closed_workflow_executions(
            ListClosedWorkflowExecutionsRequest(
                namespace=client.namespace, next_page_token=token, **filters
            )
        )
        executions += page.executions
        token = page.next_page_token
        if not token:
            return executions


async def workflows_on(client: Client, task_queue: str) -> set[str]:
    """The ids of the workflows on a task queue, if histories are being recorded (the dev
    server's visibility answers this; the time-skipping server's does not)."""
    if recording_to() is None:
        return set()
    return {e.id async for e in client.list_workflows(f"TaskQueue = '{task_queue}'")}


async def _requests_without_rows(client: Client, user_suffix: str) -> set[str]:
    """Ids of the closed match requests of these users that no row names: refused or
    abandoned bookings. The time-skipping server keeps no search attributes to ask by user,
    so each run not looked at before is asked for its input."""
    ids = set()
    requests = WorkflowTypeFilter(name=MATCH_REQUEST)
    for execution in await _closed(client, type_filter=requests):
        workflow_id, run_id = execution.execution.workflow_id, execution.execution.run_id
        # The time-skipping server ignores the type filter.
        if run_id in _looked_at or execution.type.name != MATCH_REQUEST:
            continue
        _looked_at.add(run_id)
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        started = (await handle.fetch_history()).events[0]
        payloads = started.workflow_execution_started_event_attributes.input.payloads
        spec = json.loads(payloads[0].data)["spec"]
        if spec["user_id"].endswith(user_suffix):
            ids.add(workflow_id)
    return ids
