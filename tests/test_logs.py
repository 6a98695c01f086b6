"""The logs: one setup for the API and the worker, lines that say which call, user and workflow
they are about (across the hop from the API to the worker), and never a token or a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.naming import match_request_workflow_id
from observability.logs import configure_logging
from observability.tracing import temporal_interceptors
from settings import Settings
from tests.helpers import Stack, person, slot_ahead
from tests.workers import stack_on


@pytest.fixture
def captured(request: pytest.FixtureRequest, settings: Settings) -> Iterator[io.StringIO]:
    """Every log line of the process, at DEBUG, in the format the test asks for."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(request.param, settings.secrets(), logging.DEBUG, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])


@pytest.fixture
async def stack_with_context(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Stack]:
    """The stack, its client (API and worker) carrying the call's context as production's does."""
    client = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        interceptors=temporal_interceptors(None),
    )
    async with stack_on(env, client, settings, sessionmaker) as stack:
        yield stack


@pytest.mark.parametrize("captured", ["json"], indirect=True)
async def test_a_booking_is_followed_by_its_request_id_from_the_api_to_the_worker(
    captured: io.StringIO, stack_with_context: Stack
) -> None:
    stack = stack_with_context
    a = person(stack, "a")
    booked = await a.post(
        "/v1/match-requests",
        {
            "native_language_id": "english",
            "learning_language_id": "spanish",
            "proficiency_level": "intermediate",
            "availability_start": (await slot_ahead(stack)).isoformat(),
        },
        **{"X-Request-ID": "call-42"},
    )
    assert booked.status_code == 201 and booked.headers["X-Request-ID"] == "call-42"
    workflow_id = match_request_workflow_id(booked.json()["id"])
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    about = [line for line in lines if line.get("request_id") == "call-42"]
    access = [line for line in about if line["logger"] == "parley.api.access"]
    assert len(access) == 1 and "POST /v1/match-requests 201" in access[0]["message"]
    assert (access[0]["user_id"], access[0]["workflow_id"]) == (a.user_id, workflow_id)
    # The worker's line about the same call: same request id and user, its workflow named.
    worker = [line for line in about if line["logger"] == "temporalio.activity"]
    assert worker and all(line["user_id"] == a.user_id for line in worker), about
    assert all(line["workflow_id"] == workflow_id for line in worker)


@pytest.mark.parametrize("captured", ["text", "json"], indirect=True)
async def test_no_token_or_secret_is_ever_logged(
    captured: io.StringIO, stack_with_context: Stack, settings: Settings
) -> None:
    stack = stack_with_context
    a = person(stack, "a")
    assert (await a.book(await slot_ahead(stack), "english", "spanish")).status_code == 201
    forged = a.token[:-4] + "abcd"
    bearer = {"Authorization": f"Bearer {forged}"}
    refused = await stack.api.get("/v1/match-requests", headers=bearer)
    assert refused.status_code == 401
    # Even code that would log one by mistake leaves nothing readable behind.
    logging.getLogger("parley.careless").warning("called with Authorization: Bearer %s", a.token)
    logging.getLogger("parley.careless").error("signing with %s", stack.settings.signing_secret())
    try:
        raise RuntimeError(f"token {a.token} and secret {stack.settings.signing_secret()}")
    except RuntimeError:
        logging.getLogger("parley.careless").exception("a failure that quotes them")
    text = captured.getvalue()
    assert "POST /v1/match-requests 201" in text  # the capture did see the calls
    for secret in (a.token, forged, stack.settings.signing_secret(), settings.signing_secret()):
        assert secret not in text
    assert a.token.split(".")[1] not in text  # not even the token's claims
