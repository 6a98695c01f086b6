"""OpenTelemetry traces, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: one trace runs from the
HTTP call through the workflow start or update to the activities and their SQL.

FastAPI's and SQLAlchemy's instrumentations make the HTTP and SQL spans; Temporal's
`TracingInterceptor` carries the context in workflow headers and makes the workflow, update and
activity spans; the call-context interceptor rides along for the logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.opentelemetry import TracingInterceptor

from observability.propagation import CallContextInterceptor


def tracer_provider(endpoint: str | None, service_name: str) -> TracerProvider | None:
    """A provider exporting to the OTLP/HTTP collector at `endpoint`, or None (tracing off)."""
    if not endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    traces = endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    return provider


def temporal_interceptors(provider: TracerProvider | None) -> Sequence[Any]:
    """Interceptors for a Temporal client (its workers use them too)."""
    interceptors: list[Any] = [CallContextInterceptor()]
    if provider is not None:
        interceptors.insert(0, TracingInterceptor(provider.get_tracer("parley.temporal")))
    return interceptors


def instrument_api(app: FastAPI, provider: TracerProvider | None) -> None:
    """Spans for every HTTP call (named by route template, never by id)."""
    if provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics"
        )


def instrument_engine(engine: AsyncEngine, provider: TracerProvider | None) -> None:
    """Spans for every SQL statement on this engine."""
    if provider is not None:
        # The instrumentation declares SQLAlchemy < 2.1 and quietly does nothing on 2.1, whose
        # engine events it uses are unchanged: skip that check (tests/test_tracing.py shows the
        # SQL spans).
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
        )
