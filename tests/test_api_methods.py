"""Methods through the API: OPTIONS lists what a path serves, a method it does not serve is a
405 that lists them, both answered before Temporal or the database is asked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import app as production_app

DOCUMENTED_METHODS = {
    path: {method.upper() for method in operations}
    for path, operations in production_app.openapi()["paths"].items()
}


@pytest.fixture
async def bare_api() -> AsyncIterator[httpx.AsyncClient]:
    """The app with no Temporal and no database behind it: for what is answered before both."""
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
        yield client


@pytest.mark.parametrize("path", sorted(DOCUMENTED_METHODS))
async def test_options_answers_204_with_every_method_the_path_serves(
    bare_api: httpx.AsyncClient, path: str
) -> None:
    url = path.replace("{request_id}", str(uuid.uuid4())).replace("{session_id}", str(uuid.uuid4()))
    answer = await bare_api.options(url)
    assert answer.status_code == 204
    assert set(answer.headers["Allow"].split(", ")) == DOCUMENTED_METHODS[path] | {"OPTIONS"}
    assert "access-control-allow-origin" not in answer.headers  # no CORS: see api/allowed_methods


async def test_a_method_a_path_does_not_serve_is_a_405_listing_every_one_it_does(
    bare_api: httpx.AsyncClient,
) -> None:
    wrong = await bare_api.delete("/v1/match-requests")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, OPTIONS, POST"
    wrong = await bare_api.get(f"/v1/match-requests/{uuid.uuid4()}/cancel")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "OPTIONS, POST"
    assert (await bare_api.options("/v1/nowhere")).status_code == 404
