"""`/healthz` and `/readyz`: public probes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from api.deps import DbDep, SettingsDep, TemporalDep
from api.schemas import Health

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_SECONDS = 3
# An idle worker's long poll lasts about a minute; the server stamps a poller when it polls.
POLLER_SEEN_WITHIN = timedelta(seconds=75)


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: answers while the process runs."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Postgres and Temporal answer; whether a worker polls",
    responses={503: {"model": Health}},
)
async def readyz(db: DbDep, temporal: TemporalDep, settings: SettingsDep) -> Health | JSONResponse:
    """Readiness: 200 when Postgres and Temporal answer, else 503.

    With no worker polling the task queue it stays 200 with status `degraded`: this API can
    still serve every read and record every join and cancel (receipts), which keeps deadlines
    fair; taking it out of rotation would turn a worker outage into a full one. Alert on
    `checks.workers` instead.
    """
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(db.execute(text("SELECT 1")), PROBE_TIMEOUT_SECONDS)
        checks["postgres"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        checks["postgres"] = f"error: {type(error).__name__}"
    try:
        await asyncio.wait_for(temporal.service_client.check_health(), PROBE_TIMEOUT_SECONDS)
        checks["temporal"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["temporal"] = f"error: {type(error).__name__}"
    if all(value == "ok" for value in checks.values()):
        checks["workers"] = await _workers(temporal, settings.task_queue)
        state = "ok" if checks["workers"].endswith("polling") else "degraded"
        return Health(status=state, checks=checks)
    return JSONResponse(
        status_code=503, content=Health(status="unavailable", checks=checks).model_dump()
    )


async def _workers(temporal: Client, task_queue: str) -> str:
    """How many workers polled the task queue lately, as the server saw them."""
    try:
        described = await asyncio.wait_for(
            temporal.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=temporal.namespace,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            ),
            PROBE_TIMEOUT_SECONDS,
        )
    except Exception as error:  # noqa: BLE001 - unknown is not ready to claim either way
        return f"unknown: {type(error).__name__}"
    now = datetime.now(UTC)
    recent = [
        poller
        for poller in described.pollers
        if now - poller.last_access_time.ToDatetime(UTC) <= POLLER_SEEN_WITHIN
    ]
    if not recent:
        return f"none polling (none seen in the last {POLLER_SEEN_WITHIN.seconds} s)"
    return f"{len(recent)} polling"
