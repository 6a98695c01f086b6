"""The Parley worker: runs every workflow and activity on one task queue (`python -m worker`)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import PollerBehaviorAutoscaling, UnsandboxedWorkflowRunner, Worker

from activities.booking import MAX_CARRIED, BookingActivities
from activities.meeting_rooms import DEFAULT_ROOMS, MeetingRooms, meeting_rooms
from activities.pairing import PairingActivities
from activities.pool import PoolActivities
from activities.reminders import ReminderActivities
from activities.requests import RequestActivities
from activities.sessions import SessionActivities
from activities.settlement import SettlementActivities
from activities.webhook_starts import start_webhook_deliveries
from activities.webhook_wakes import wake_on_events
from activities.webhooks import WebhookActivities
from activities.workflow_starts import WorkflowStartActivities
from contracts.wire import DATA_CONVERTER
from db.engine import make_engine, make_sessionmaker
from deploy.versions import default_build_id, deployment_config
from observability.business import HISTOGRAM_BUCKETS, BusinessMetrics
from observability.logs import configure_logging
from observability.tracing import instrument_engine, temporal_interceptors, tracer_provider
from settings import Settings, get_settings
from workflows.match_request import MatchRequestWorkflow
from workflows.matchmaker import MatchmakerWorkflow
from workflows.session import SessionWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

WORKFLOWS = [MatchRequestWorkflow, MatchmakerWorkflow, SessionWorkflow, WebhookDeliveryWorkflow]

# Temporal's guidance is a workflow task schedule-to-start p99 under 200 ms, and Parley alerts on
# it (observability/prometheus/alerts.yml); the SDK's default buckets (0.1, 0.5, 1, 5 s...) cannot
# tell 110 ms from 450 ms, so 0.2 s is made a bucket boundary.
SCHEDULE_TO_START_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 60)

# The worker's shape, shared with the benchmark's floor worker so that the two compare fairly.
# - Pollers scale with the backlog: with a fixed five, most tasks missed a waiting poller and
#   took a round trip through the server's database (bench: 1.5 -> 0.6 persisted tasks per
#   request, 0.19 -> 0.25 of the floor).
# - No sandbox: it re-imports and recompiles a workflow's module for every new run, a third of
#   this worker's CPU (bench: 32 -> 21 ms per request). The tests run every workflow in the
#   sandbox instead (tests/helpers.py), where a non-deterministic call fails loudly.
# - Every activity is local (workflows/activity_calls.py): no activity queue to poll.
TUNING: dict[str, Any] = {
    "workflow_task_poller_behavior": PollerBehaviorAutoscaling(),
    "workflow_runner": UnsandboxedWorkflowRunner(),
    "no_remote_activities": True,
}


def build_worker(
    client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_queue: str,
    *,
    max_live_requests: int = 20,
    max_carried: int = MAX_CARRIED,
    metrics: BusinessMetrics | None = None,
    rooms: MeetingRooms = DEFAULT_ROOMS,
    webhooks: WebhookActivities | None = None,
    **options: Any,
) -> Worker:
    """A worker with every Parley workflow and activity, bound to one database; business
    metrics go to `metrics` (none by default), webhooks to `webhooks`' endpoints (none)."""
    requests = RequestActivities(sessionmaker, max_live_requests, metrics)
    pool = PoolActivities(sessionmaker)
    sessions = SessionActivities(sessionmaker, metrics)
    starts = WorkflowStartActivities(client)
    settlement = SettlementActivities(sessionmaker, starts, metrics)
    hooks = webhooks or WebhookActivities(sessionmaker)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            BookingActivities(
                sessionmaker, starts, metrics, max_live_requests, max_carried
            ).book_request,
            requests.cancel_match_request,
            requests.expire_match_request,
            requests.reschedule_match_request,
            pool.load_waiting_requests,
            pool.still_waiting,
            sessions.activate_session,
            sessions.complete_session,
            settlement.settle_shard,
            settlement.settle_session,
            PairingActivities(sessionmaker, starts, metrics, rooms).persist_pairs,
            starts.start_match_request,
            ReminderActivities(sessionmaker).send_reminders,
            hooks.next_webhook_events,
            hooks.deliver_webhook_event,
            hooks.record_webhook_dead_letter,
        ],
        **{**TUNING, **options},
    )


def telemetry(settings: Settings) -> Runtime:
    """The Temporal runtime: its metrics (and Parley's business metrics) on a Prometheus
    endpoint at PARLEY_WORKER_METRICS_ADDRESS, durations in seconds; none when disabled."""
    if not settings.metrics_enabled:
        return Runtime(telemetry=TelemetryConfig())
    return prometheus_runtime(settings.worker_metrics_address)


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime serving its metrics, and the meter's, at http://<bind_address>/metrics."""
    prometheus = PrometheusConfig(
        bind_address=bind_address,
        counters_total_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides={
            **HISTOGRAM_BUCKETS,
            "workflow_task_schedule_to_start_latency": SCHEDULE_TO_START_BUCKETS,
        },
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def main() -> None:
    """Connect to Temporal and Postgres and work until stopped."""
    settings = get_settings()
    configure_logging(settings.log_format, secrets=settings.secrets())
    runtime = telemetry(settings)
    traces = tracer_provider(settings.otel_exporter_otlp_endpoint, "parley-worker")
    client = await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        runtime=runtime,
        interceptors=temporal_interceptors(traces),
        data_converter=DATA_CONVERTER,
    )
    engine = make_engine(settings.sqlalchemy_url)
    instrument_engine(engine, traces)
    build_id = settings.build_id or default_build_id()
    sessionmaker = make_sessionmaker(engine)
    webhooks = WebhookActivities.configured(sessionmaker, settings)
    worker = build_worker(
        client,
        sessionmaker,
        settings.task_queue,
        max_live_requests=settings.max_live_requests,
        metrics=BusinessMetrics(runtime.metric_meter),
        rooms=meeting_rooms(settings.meeting_provider, settings.meeting_base_url),
        webhooks=webhooks,
        deployment_config=deployment_config(settings.deployment_name, build_id),
    )
    logging.getLogger("parley.worker").info(
        "worker of build %r (deployment %r) polling task queue %r on %s",
        build_id,
        settings.deployment_name,
        settings.task_queue,
        settings.temporal_target,
    )
    # SIGTERM (a deploy retiring this build, or `dev.py up` stopping) finishes the tasks in hand
    # and exits 0; a supervisor does not restart a worker that stopped on purpose.
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    waking = asyncio.create_task(
        wake_on_events(settings.libpq_url, client, webhooks.endpoint_names)
    )
    try:
        await start_webhook_deliveries(client, settings.task_queue, webhooks.endpoint_names)
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            await worker.shutdown()
        await running  # raises if the worker failed
    finally:
        stopping.cancel()
        waking.cancel()
        await engine.dispose()
        if traces is not None:
            traces.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # Shut down cleanly by now; the Temporal runtime's threads can still race interpreter
    # finalisation and abort the process, which a supervisor would take for a crash.
    os._exit(0)
