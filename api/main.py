"""The FastAPI application (`uvicorn api.main:app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.body_limit import BodySizeLimit
from api.deps import Clock, system_clock
from api.errors import install_error_handlers
from api.routes import health, languages, match_requests, sessions
from db.engine import make_engine, make_sessionmaker
from settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    """Build the app; tests hand in their own Temporal client, database and clock."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.signing_secret()  # fail fast without a secret, before serving anything
        engine = None
        if sessionmaker is None:
            engine = make_engine(settings.sqlalchemy_url)
            app.state.sessionmaker = make_sessionmaker(engine)
        if temporal is None:
            app.state.temporal = await Client.connect(
                settings.temporal_target, namespace=settings.temporal_namespace
            )
        try:
            yield
        finally:
            if engine is not None:
                await engine.dispose()

    app = FastAPI(
        title="Parley",
        version="1.0.0",
        summary="Scheduled language-exchange matching",
        description="Book a slot, get paired with a reciprocal partner, join the session. "
        "Every call but `/healthz`, `/readyz` and `/v1/languages` needs a bearer token.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    if temporal is not None:
        app.state.temporal = temporal
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    for module in (health, languages, match_requests, sessions):
        app.include_router(module.router)
    return app


app = create_app()
