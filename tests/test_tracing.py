"""One booking is one trace: the HTTP call, the workflow's update-with-start, the workflow, its
activity and the activity's SQL, all under one trace id (an in-memory exporter, a real stack)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, make_sessionmaker
from observability.tracing import instrument_engine, temporal_interceptors
from settings import Settings
from tests.helpers import Stack, person, slot_ahead
from tests.workers import stack_on


@pytest.fixture
async def traced(
    env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[tuple[Stack, InMemorySpanExporter]]:
    """The stack with tracing on: every span goes to an in-memory exporter."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    client = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        interceptors=temporal_interceptors(provider),
    )
    engine = make_engine(settings.sqlalchemy_url)  # its own engine: instrumenting is for good
    instrument_engine(engine, provider)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with stack_on(env, client, settings, sessionmaker, traces=provider) as stack:
            yield stack, spans
    finally:
        await engine.dispose()


async def test_a_booking_is_one_trace_from_the_http_call_to_the_activitys_sql(
    traced: tuple[Stack, InMemorySpanExporter],
) -> None:
    stack, spans = traced
    slot = await slot_ahead(stack)
    # A partner first (parked: nobody to pair with yet), so that the booking traced below has
    # someone to pair with and hands both to the matchmaker.
    partner = await person(stack, "b").book(slot, "spanish", "english")
    assert partner.status_code == 201, partner.text
    spans.clear()
    booked = await person(stack, "a").book(slot, "english", "spanish")
    assert booked.status_code == 201, booked.text
    finished = spans.get_finished_spans()
    http = next(s for s in finished if s.name == "POST /v1/match-requests")
    trace = [s for s in finished if s.context.trace_id == http.context.trace_id]
    names = {s.name for s in trace}
    assert "StartUpdateWithStartWorkflow:MatchRequestWorkflow" in names, names
    assert "RunWorkflow:MatchRequestWorkflow" in names, names
    assert "RunActivity:book_request" in names, names
    activity = next(s for s in trace if s.name == "RunActivity:book_request")
    sql = [(s, str(dict(s.attributes or {}).get("db.statement", ""))) for s in trace]
    # The activity's INSERT is a child of the activity's span, in the same trace.
    assert any(
        "INSERT INTO match_requests" in statement
        and s.parent is not None
        and s.parent.span_id == activity.context.span_id
        for s, statement in sql
    ), [(s.name, statement) for s, statement in sql]
    # And the matchmaker it hands the request to joins the same trace.
    assert any(n.startswith("SignalWithStartWorkflow:MatchmakerWorkflow") for n in names), names
