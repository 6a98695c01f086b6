"""Another instance of a test stack's app, and any app served over real HTTP by uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from api.main import create_app
from devstack.processes import free_port
from tests.helpers import Stack


def app_of(stack: Stack) -> FastAPI:
    """Another instance of the stack's app: same Temporal, database, task queue and clock."""
    return create_app(
        stack.settings,
        temporal=stack.env.client,
        sessionmaker=stack.sessionmaker,
        clock=stack.env.get_current_time,
    )


@asynccontextmanager
async def served(
    app: FastAPI, port: int | None = None, graceful_seconds: int | None = None
) -> AsyncIterator[str]:
    """Serve the app with uvicorn on a local port (a free one unless given) in this event loop;
    yields its base URL. `graceful_seconds`: cut open streams at exit after that long."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=graceful_seconds,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises why it could not start
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
