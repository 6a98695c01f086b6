"""Parley's worker in the tests: every workflow in Temporal's sandbox, and on the real dev
server as a version of the `parley` deployment, with the API beside it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api.main import create_app
from api.security import mint_token
from deploy.versions import deployment_config, make_current_when_polling
from settings import Settings
from tests.helpers import Person, Stack, new_calendar_offset, settle, withdraw_waiting
from tests.histories.recording import record_histories, workflows_on
from worker import build_worker


def test_worker(
    client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_queue: str,
    **options: Any,
) -> Worker:
    """Parley's worker, but with every workflow in Temporal's sandbox, which fails a test on any
    non-deterministic call that production (unsandboxed, for speed) would let through."""
    return build_worker(
        client, sessionmaker, task_queue, workflow_runner=SandboxedWorkflowRunner(), **options
    )


test_worker.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test


DEV_BUILD = "test-build"


@asynccontextmanager
async def dev_worker(
    client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_queue: str,
    build_id: str = DEV_BUILD,
    **options: Any,
) -> AsyncIterator[Worker]:
    """Parley's worker on the real dev server: a version of the `parley` deployment (the server
    runs PINNED workflows on versioned workers only), its build made current once it polls."""
    deployment = deployment_config("parley", build_id)
    async with test_worker(
        client, sessionmaker, task_queue, deployment_config=deployment, **options
    ) as worker:
        await make_current_when_polling(client, "parley", build_id)
        yield worker


@asynccontextmanager
async def on_dev_server(
    client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Settings, Callable[[str], Person]]]:
    """A worker and the API on the real dev server, on a fresh task queue; makes people."""
    test_settings = settings.model_copy(update={"task_queue": f"parley-{uuid.uuid4()}"})
    app = create_app(test_settings, temporal=client, sessionmaker=sessionmaker)
    tag = uuid.uuid4().hex[:8]
    async with (
        dev_worker(client, sessionmaker, test_settings.task_queue),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api,
    ):

        def people(name: str) -> Person:
            user = f"{name}-{tag}"
            return Person(user, api, mint_token(user, test_settings.signing_secret()))

        try:
            yield test_settings, people
            await record_histories(client, await workflows_on(client, test_settings.task_queue))
        finally:
            await withdraw_waiting(sessionmaker, tag)


@asynccontextmanager
async def stack_on(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    worker_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> AsyncIterator[Stack]:
    """A sandboxed worker on a fresh task queue, through `client`, and the real FastAPI app in
    front of it, on the environment's clock; settles what the test left running at the end.
    `worker_options` go to `worker.build_worker`."""
    test_settings = settings.model_copy(update={"task_queue": f"parley-{uuid.uuid4()}"})
    app = create_app(
        test_settings,
        temporal=client,
        sessionmaker=sessionmaker,
        clock=env.get_current_time,
        **app_options,
    )
    async with (
        test_worker(client, sessionmaker, test_settings.task_queue, **(worker_options or {})),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api,
    ):
        stack = Stack(
            api, env, test_settings, sessionmaker, uuid.uuid4().hex[:8], new_calendar_offset()
        )
        try:
            yield stack
        finally:
            await settle(stack)
