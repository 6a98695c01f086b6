"""Draining an old build: waking its matchmakers so that they hand over, and naming what is left.

A matchmaker run is pinned to its build and moves to a new current build at its next workflow
task; an idle one (its requests cancelled, its day's slots hours away) has no task coming, so
the deploy wakes it with a signal.
"""

from __future__ import annotations

import time

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts import naming
from deploy import versions
from workflows.matchmaker import MatchmakerWorkflow

# A run is woken again after this long if it is still on the old build.
WAKE_AGAIN_SECONDS = 10.0


async def wake_matchmakers(
    client: Client, deployment_name: str, build_id: str, woken: dict[tuple[str, str], float]
) -> int:
    """Signal each matchmaker run still pairing on this build, so that it hands over now.

    A run sees the new build only in a workflow task that starts once the server has routed the
    deployment's change, which may come just after it; so a run still here is woken again after
    WAKE_AGAIN_SECONDS. A run past its day's last slot start only waits for its no-show sweeps:
    left alone.
    """
    query = (
        f"{versions.running_on(deployment_name, build_id)} "
        f'AND WorkflowType = "{naming.MATCHMAKER_WORKFLOW}" '
        f'AND {naming.STATUS.name} != "{naming.AWAITING_NO_SHOWS}"'
    )
    count = 0
    async for listed in client.list_workflows(query):
        key = (listed.id, listed.run_id)
        if time.monotonic() - woken.get(key, -WAKE_AGAIN_SECONDS) < WAKE_AGAIN_SECONDS:
            continue
        woken[key] = time.monotonic()
        handle = client.get_workflow_handle_for(
            MatchmakerWorkflow.run, listed.id, run_id=listed.run_id
        )
        try:
            await versions.patient(handle.signal)(MatchmakerWorkflow.hand_over)
        except RPCError as error:
            # The run ended (or handed over) since it was listed.
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        count += 1
    return count


async def pinned_sample(
    client: Client, deployment_name: str, build_id: str, most: int = 5
) -> list[str]:
    """A few of the running workflows still on this build, as `type id`, for the operator."""
    found = []
    query = versions.running_on(deployment_name, build_id)
    async for listed in client.list_workflows(query, limit=most):
        found.append(f"{listed.workflow_type} {listed.id}")
    return found
