"""What the metrics say after a booking, a match, a no-show and a cancel: the exact changes, read
from both /metrics endpoints (the worker's Temporal runtime, the API's app)."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api.main import create_app
from devstack.processes import free_port
from observability.business import BusinessMetrics
from settings import Settings
from tests.helpers import (
    Stack,
    book_pair,
    eventually,
    new_calendar_offset,
    person,
    settle,
    skip_to,
    slot_ahead,
)
from worker import build_worker, prometheus_runtime

Sample = tuple[str, tuple[tuple[str, str], ...]]
# Labels every sample of one endpoint shares (the SDK's service name, this test's task queue).
CONSTANT_LABELS = {"service_name", "task_queue", "le"}


def parse(text: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text page, by name and labels (minus the constant ones)."""
    found: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(
                sorted((k, v) for k, v in sample.labels.items() if k not in CONSTANT_LABELS)
            )
            if "le" in sample.labels:
                continue  # buckets: the count and sum say enough here
            found[(sample.name, labels)] = sample.value
    return found


class Scrapes:
    """Both endpoints, read before and after, compared sample by sample."""

    def __init__(self, worker_url: str, api: AsyncClient) -> None:
        self._worker_url, self._api = worker_url, api
        self._before: dict[Sample, float] = {}

    async def read(self) -> dict[Sample, float]:
        """One scrape of each."""
        worker = await asyncio.to_thread(
            lambda: urllib.request.urlopen(self._worker_url, timeout=5).read().decode()
        )
        api = (await self._api.get("/metrics")).text
        return {**parse(worker), **parse(api)}

    async def mark(self) -> None:
        """Remember the values now."""
        self._before = await self.read()

    async def delta(self, name: str, **labels: str) -> float:
        """How much one sample moved since `mark`."""
        key = (name, tuple(sorted(labels.items())))
        return (await self.read()).get(key, 0.0) - self._before.get(key, 0.0)


@pytest.fixture
async def measured(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Stack, Scrapes]]:
    """The stack, with a worker whose Temporal runtime serves Prometheus metrics."""
    address = f"127.0.0.1:{free_port()}"
    runtime = prometheus_runtime(address)
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        runtime=runtime,
    )
    test_settings = settings.model_copy(update={"task_queue": f"parley-{uuid.uuid4()}"})
    app = create_app(
        test_settings, temporal=env.client, sessionmaker=sessionmaker, clock=env.get_current_time
    )
    worker = build_worker(
        client,
        sessionmaker,
        test_settings.task_queue,
        metrics=BusinessMetrics(runtime.metric_meter),
        workflow_runner=SandboxedWorkflowRunner(),
    )
    async with (
        worker,
        AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api,
    ):
        stack = Stack(
            api, env, test_settings, sessionmaker, uuid.uuid4().hex[:8], new_calendar_offset()
        )
        try:
            yield stack, Scrapes(f"http://{address}/metrics", api)
        finally:
            await settle(stack)


async def test_a_match_a_no_show_and_a_cancel_move_each_metric_by_exactly_what_happened(
    measured: tuple[Stack, Scrapes],
) -> None:
    stack, scrapes = measured
    a, b, c, d, e = (person(stack, name) for name in ("a", "b", "c", "d", "e"))
    slot = await slot_ahead(stack)
    await scrapes.mark()

    # A booking and its match: two requests booked, two matched, one session, one pair.
    _, _, ab = await book_pair(stack, a, b, slot)
    assert await scrapes.delta("parley_requests_booked_total", priority="0") == 2
    assert await scrapes.delta("parley_request_outcomes_total", outcome="matched") == 2
    assert await scrapes.delta("parley_match_wait_seconds_count") == 2
    assert await scrapes.delta("parley_sessions_created_total") == 1
    assert await scrapes.delta("parley_matchmaker_pass_pairs_total", **_matchmaker()) == 1
    created = {"handler": "/v1/match-requests", "method": "POST", "status": "201"}
    assert await scrapes.delta("http_requests_total", **created) == 2

    # A waiting request, then its owner's cancel.
    waiting = (await e.book(slot + timedelta(hours=2), "english", "german")).json()
    assert await scrapes.delta("parley_waiting_requests", slot_start="all") == 1
    assert (await e.post(f"/v1/match-requests/{waiting['id']}/cancel")).status_code == 200
    assert await scrapes.delta("parley_waiting_requests", slot_start="all") == 0
    assert await scrapes.delta("parley_request_outcomes_total", outcome="cancelled") == 1

    # A cancel before the start: a session cancelled by its user, C rebooked (priority 1).
    await scrapes.mark()
    _, _, cd = await book_pair(stack, c, d, slot + timedelta(hours=4))
    assert (await d.post(f"/v1/sessions/{cd['id']}/cancel")).status_code == 200
    ended = "parley_sessions_ended_total"
    assert await scrapes.delta(ended, outcome="cancelled_by_user") == 1
    assert await scrapes.delta("parley_request_outcomes_total", outcome="cancelled") == 1
    assert await scrapes.delta("parley_requests_booked_total", priority="1") == 1
    assert await scrapes.delta("parley_rebook_delay_seconds_count") == 0

    # A no-show: A came, B did not. One session ends as a no-show, B's request with it, A is
    # rebooked once, and the decision is counted once (the sweep and A's session both look).
    await scrapes.mark()
    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await a.post(f"/v1/sessions/{ab['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(minutes=2, seconds=5))
    await eventually(
        lambda: a.get(f"/v1/sessions/{ab['id']}"), lambda s: s["status"] == "cancelled"
    )
    await eventually(lambda: a.get("/v1/match-requests", status="waiting"), bool)
    assert await scrapes.delta(ended, outcome="no_show") == 1
    assert await scrapes.delta("parley_request_outcomes_total", outcome="no_show") == 1
    assert await scrapes.delta("parley_requests_booked_total", priority="1") == 1
    assert await scrapes.delta("parley_rebook_delay_seconds_count") == 1
    assert await scrapes.delta("parley_no_show_decision_lateness_seconds_count") == 1
    assert await scrapes.delta(ended, outcome="cancelled_by_user") == 0

    # The SDK's own metrics are there too, in seconds.
    seen = await scrapes.read()
    assert any(name == "temporal_workflow_task_schedule_to_start_latency_count" for name, _ in seen)


def _matchmaker() -> dict[str, str]:
    """The labels the workflow's meter puts on the matchmaker's pass metrics."""
    return {"namespace": "default", "workflow_type": "MatchmakerWorkflow"}

