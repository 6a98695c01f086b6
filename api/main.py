"""The FastAPI application (`uvicorn api.main:app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.allowed_methods import AllowedMethods
from api.body_limit import BodySizeLimit
from api.deps import Clock, system_clock
from api.errors import install_error_handlers
from api.event_hub import EventHub
from api.openapi import docs_router, install_openapi
from api.routes import (
    blocks,
    calendars,
    dev,
    events,
    health,
    languages,
    match_requests,
    me,
    sessions,
    web,
)
from contracts.wire import DATA_CONVERTER
from db.engine import make_engine, make_sessionmaker
from observability.http import RequestContext, install_metrics
from observability.logs import configure_logging
from observability.tracing import (
    instrument_api,
    instrument_engine,
    temporal_interceptors,
    tracer_provider,
)
from settings import Settings, get_settings

ROUTERS = (
    health.router,
    languages.router,
    match_requests.router,
    sessions.router,
    me.router,
    blocks.router,
    events.router,
    calendars.sessions_router,
    calendars.feeds_router,
    web.router,
    docs_router,
)


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = system_clock,
    traces: TracerProvider | None = None,
    own_logging: bool = False,
) -> FastAPI:
    """Build the app; tests hand in their own Temporal client, database, clock and tracer
    provider. `own_logging`: set up this process's logging (the served app does)."""
    settings = settings or get_settings()
    if traces is None and own_logging:
        traces = tracer_provider(settings.otel_exporter_otlp_endpoint, "parley-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.signing_secret()  # fail fast without a secret, before serving anything
        if own_logging:
            configure_logging(settings.log_format, secrets=settings.secrets())
        engine = None
        if sessionmaker is None:
            engine = make_engine(settings.sqlalchemy_url)
            instrument_engine(engine, traces)
            app.state.sessionmaker = make_sessionmaker(engine)
        if temporal is None:
            app.state.temporal = await Client.connect(
                settings.temporal_target,
                namespace=settings.temporal_namespace,
                interceptors=temporal_interceptors(traces),
                data_converter=DATA_CONVERTER,
            )
        try:
            yield
        finally:
            await app.state.event_hub.close()
            if engine is not None:
                await engine.dispose()
            if traces is not None and own_logging:
                traces.shutdown()

    app = FastAPI(
        title="Parley",
        version="1.0.0",
        summary="Scheduled language-exchange matching",
        description="Book a slot, get paired with a reciprocal partner, join the session. "
        "Every call but `/healthz`, `/readyz` and `/v1/languages` needs a bearer token.",
        lifespan=lifespan,
        # Served by api/openapi.py instead, with every status and examples valid when read.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.event_hub = EventHub(settings.libpq_url)  # listens only while a stream is open
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    if temporal is not None:
        app.state.temporal = temporal
    install_error_handlers(app)
    routers = (*ROUTERS, *dev.routers_for(settings))  # dev sign-in exists only in dev mode
    for router in routers:
        app.include_router(router)
    web.mount_web_files(app)
    # Every route with its full path (the routers carry their prefixes; none is added here).
    routes = [route for router in routers for route in router.routes]
    install_openapi(app, routes)
    if settings.metrics_enabled:
        install_metrics(
            app, settings.libpq_url, settings.metrics_token, settings.metrics_gauges_fresh_seconds
        )
    instrument_api(app, traces)
    app.add_middleware(AllowedMethods, routes=routes)
    app.add_middleware(BodySizeLimit)  # it counts every byte before anything reads them
    app.add_middleware(RequestContext)  # added last, so outermost: every call gets an id
    return app


app = create_app(own_logging=True)
